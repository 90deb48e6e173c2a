/**
 * Hostile topic and subscription names on every route that takes one: each is refused before it
 * reaches a Durable Object, and nothing is created under it or under the topic it names.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { isValidName } from "../../src/protocol/names";
import { hs256, SECRET } from "./auth-fixtures";
import { freshTopic, topicStub } from "./helpers";
import { call, expectProblem, topicExists } from "./http-support";

const upgrade = { Upgrade: "websocket", "Sec-WebSocket-Protocol": "edge-broker.v1" };

/** Every route with a topic in its path, as `[method, path, init]` for a path segment `t`. */
const topicRoutes = (t: string): [string, string, Parameters<typeof call>[2]][] => [
  ["POST", `/v1/topics/${t}/messages`, { body: "x" }],
  ["POST", `/v1/topics/${t}/batch`, { json: { messages: [{ data: 1 }] } }],
  ["GET", `/v1/topics/${t}/messages`, {}],
  ["GET", `/v1/topics/${t}/messages`, { headers: { Accept: "text/event-stream" } }],
  ["PUT", `/v1/topics/${t}`, { json: {} }],
  ["GET", `/v1/topics/${t}`, {}],
  ["DELETE", `/v1/topics/${t}`, {}],
  ["GET", `/v1/topics/${t}/subscriptions`, {}],
  ["PUT", `/v1/topics/${t}/subscriptions/s`, { json: {} }],
  ["POST", `/v1/topics/${t}/subscriptions/s/pull`, { json: {} }],
  ["GET", `/v1/topics/${t}/ws`, { headers: upgrade }],
  ["GET", `/v1/topics/${t}/subscriptions/s/ws`, { headers: upgrade }],
];

/** Every route with a subscription in its path, on a topic that does not exist yet. */
const subscriptionRoutes = (t: string, s: string): [string, string, Parameters<typeof call>[2]][] => [
  ["PUT", `/v1/topics/${t}/subscriptions/${s}`, { json: {} }],
  ["GET", `/v1/topics/${t}/subscriptions/${s}`, {}],
  ["DELETE", `/v1/topics/${t}/subscriptions/${s}`, {}],
  ["POST", `/v1/topics/${t}/subscriptions/${s}/pull`, { json: {} }],
  ["POST", `/v1/topics/${t}/subscriptions/${s}/ack`, { json: { seqs: [1] } }],
  ["POST", `/v1/topics/${t}/subscriptions/${s}/seek`, { json: { to: "latest" } }],
  ["GET", `/v1/topics/${t}/subscriptions/${s}/ws`, { headers: upgrade }],
];

/**
 * Names that decode to something that is not a name: look-alikes, invisible characters, control
 * characters, separators, sizes past the limit. Sent percent-encoded, each is one path segment.
 */
const DECODED_NAMES: [string, string][] = [
  ["NUL", "\0"],
  ["a NUL inside", "orders\0admin"],
  ["a Cyrillic look-alike", "\u043erders"],
  ["fullwidth letters", "\uff4frders"],
  ["a zero-width space", "ord\u200bers"],
  ["a byte-order mark", "\ufefforders"],
  ["a combining accent", "o\u0301rders"],
  ["a right-to-left override", "\u202eorders"],
  ["a ligature", "\ufb01le"],
  ["mathematical bold letters", "\u{1d428}\u{1d42b}"],
  ["a dotted capital I", "\u0130d"],
  ["a leading space", " orders"],
  ["a trailing space", "orders "],
  ["a tab", "or\tders"],
  ["a newline", "orders\nX-Injected: 1"],
  ["a slash", "orders/admin"],
  ["a backslash", "orders\\admin"],
  ["a leading dot", ".orders"],
  ["a leading dash", "-orders"],
  ["a percent sign", "%2e%2e"],
  ["129 characters", "a".repeat(129)],
  ["1 KB", "a".repeat(1024)],
];

/** Raw path segments, inserted as they are: the URL parser and the router see them first. */
const RAW_SEGMENTS: [string, string][] = [
  ["empty", ""],
  ["a dot", "."],
  ["two dots", ".."],
  ["two encoded dots", "%2e%2e"],
  ["two encoded capital dots", "%2E%2E"],
  ["a climb out of the path", "../x"],
  ["an encoded climb", "..%2fx"],
  ["an encoded slash", "a%2Fb"],
  ["an encoded backslash", "a%5Cb"],
  ["an encoded NUL", "a%00b"],
  ["a doubly encoded climb", "%252e%252e"],
  ["a broken escape", "a%E0%A4%A"],
  ["a bad escape", "%ZZ"],
  ["overlong UTF-8", "%C0%AE%C0%AE"],
  ["an encoded lone surrogate", "a%ED%A0%80b"],
  ["an encoded space", "a%20b"],
];

/** A refusal of a bad name: `invalid_name` when a route matched, else the router's own answer. */
async function expectRefused(res: Response, exact: boolean): Promise<void> {
  if (exact) {
    await expectProblem(res, 400, "invalid_name");
    return;
  }
  const code = res.status === 400 ? "invalid_name" : res.status === 404 ? "not_found" : "invalid_request";
  expect([400, 404, 405]).toContain(res.status);
  await expectProblem(res, res.status, code);
}

/** Proves nothing exists under `name`: its object, if it could have one, holds no topic. */
async function expectNoTopic(name: string): Promise<void> {
  if (name === "" || name.length > 1024) return;
  expect(await topicExists(name)).toBe(false);
}

describe("hostile names", () => {
  it.each(DECODED_NAMES)("refuses a topic name with %s on every route", async (_, name) => {
    expect(isValidName(name)).toBe(false);
    for (const [method, path, init] of topicRoutes(encodeURIComponent(name))) {
      const res = await call(method, path, init);
      expect(res.webSocket ?? null).toBeNull();
      await expectRefused(res, true);
    }
    await expectNoTopic(name);
  });

  it.each(RAW_SEGMENTS)("refuses a raw topic segment that is %s on every route", async (_, segment) => {
    for (const [method, path, init] of topicRoutes(segment)) {
      const res = await call(method, path, init);
      if (new URL(`http://broker${path}`).pathname === "/v1/ws") {
        // `/v1/topics/../ws` is `/v1/ws` once the URL parser resolves it: a session, which names
        // no topic and touches none until it is asked to subscribe.
        const ws = res.webSocket as WebSocket;
        const hello = new Promise<string>((resolve) =>
          ws.addEventListener("message", (e) => resolve(e.data as string)),
        );
        ws.accept();
        expect(JSON.parse(await hello)).toEqual({
          type: "hello",
          session: expect.any(String),
          version: expect.any(String),
        });
        ws.close(1000);
        continue;
      }
      expect(res.webSocket ?? null).toBeNull();
      await expectRefused(res, false);
    }
  });

  // Dot segments are resolved by the URL parser before routing (see the test on climbing below).
  const SUBSCRIPTION_SEGMENTS = [
    ...DECODED_NAMES.map(([what, n]) => [what, encodeURIComponent(n)] as const),
    ...RAW_SEGMENTS.filter(([, segment]) => !/^(\.|%2e){1,2}$/i.test(segment)),
  ];

  it.each(SUBSCRIPTION_SEGMENTS)(
    "refuses a subscription segment that is %s and creates neither it nor its topic",
    async (_, segment) => {
      const topic = freshTopic();
      for (const [method, path, init] of subscriptionRoutes(topic, segment)) {
        const res = await call(method, path, init);
        expect(res.webSocket ?? null).toBeNull();
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        await res.body?.cancel();
      }
      expect(await topicExists(topic)).toBe(false);
    },
  );

  it("refuses any generated string that is not a name, on a random route, writing nothing", async () => {
    const notAName = fc
      .oneof(
        fc.string({ unit: "binary", minLength: 1, maxLength: 200 }),
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
        fc.string({ minLength: 129, maxLength: 300 }),
      )
      .filter((s) => s.isWellFormed() && !isValidName(s) && s !== "." && s !== "..");
    await fc.assert(
      // Any route of the list, however long it grows.
      fc.asyncProperty(notAName, fc.nat(topicRoutes("t").length - 1), async (name, route) => {
        const [method, path, init] = topicRoutes(encodeURIComponent(name))[route] as [
          string,
          string,
          Parameters<typeof call>[2],
        ];
        await expectRefused(await call(method, path, init), true);
        await expectNoTopic(name);
      }),
      { numRuns: 100 },
    );
  }, 60_000);

  it("refuses any generated subscription name that is not a name, creating no topic", async () => {
    const notAName = fc
      .string({ unit: "binary", minLength: 1, maxLength: 160 })
      .filter((s) => s.isWellFormed() && !isValidName(s) && s !== "." && s !== "..");
    await fc.assert(
      fc.asyncProperty(notAName, fc.nat(subscriptionRoutes("t", "s").length - 1), async (name, route) => {
        const topic = freshTopic();
        const [method, path, init] = subscriptionRoutes(topic, encodeURIComponent(name))[route] as [
          string,
          string,
          Parameters<typeof call>[2],
        ];
        await expectProblem(await call(method, path, init), 400, "invalid_name");
        expect(await topicExists(topic)).toBe(false);
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it("resolves dot segments before routing, so a right is checked on the topic the path lands on", async () => {
    const mine = freshTopic("mine");
    const theirs = freshTopic("theirs");
    const token = await hs256({ cap: { [mine]: ["admin"] } });
    const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET } as Env;
    const climbs = [
      `/v1/topics/${mine}/../${theirs}/messages`,
      `/v1/topics/${mine}/%2e%2e/${theirs}/messages`,
      `/v1/topics/${mine}/subscriptions/../../${theirs}/messages`,
      `/v1/topics/${mine}/.%2E/${theirs}/messages`,
    ];
    for (const path of climbs) {
      const request = new Request(`http://broker${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        body: "x",
      });
      expect(new URL(request.url).pathname).toBe(`/v1/topics/${theirs}/messages`);
      await expectProblem(await app.fetch(request, secured, createExecutionContext()), 403, "forbidden");
    }
    // An encoded slash is not a separator: it stays inside one (invalid) name.
    const encoded = new Request(`http://broker/v1/topics/${mine}%2F..%2F${theirs}/messages`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      body: "x",
    });
    const res = await app.fetch(encoded, secured, createExecutionContext());
    expect(res.status === 400 || res.status === 403).toBe(true);
    expect(await topicExists(theirs)).toBe(false);
  });

  it("never lets an invalid name into the catalogue of topics", async () => {
    const registry = env.REGISTRY.getByName("global");
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const listed = await registry.list({ limit: 1000, ...(cursor !== undefined && { cursor }) });
      for (const { name } of listed.topics) expect(isValidName(name), name).toBe(true);
      if (listed.cursor === null) return;
      cursor = listed.cursor;
    }
  });

  it("keeps a valid name working next to its look-alikes", async () => {
    const topic = freshTopic();
    expect((await call("POST", `/v1/topics/${topic}/messages`, { body: "x" })).status).toBe(201);
    const info = await topicStub(topic).info();
    expect(info.ok && info.value.stats.published).toBe(1);
  });
});
