/**
 * What one tenant's token sees of another's topics, and of its own: nothing at all across
 * tenants (every route refused, no name in a listing or a cursor, the other tenant's topic never
 * woken), and within its own topics only what its rights allow — config (a subscription's
 * dead-letter topic and filter, a topic's retention) and usage only with `admin`, stats with
 * `subscribe`.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Right } from "../../src/auth/capabilities";
import { app } from "../../src/http/app";
import { ADMIN_KEY, hs256, nowS, SECRET } from "./auth-fixtures";
import { topicStub } from "./helpers";

const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;

async function call(
  method: string,
  path: string,
  token: string,
  json?: unknown,
): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const headers = new Headers({ Authorization: `Bearer ${token}` });
  if (json !== undefined) headers.set("content-type", "application/json");
  const res = await app.fetch(
    new Request(`http://broker${path}`, {
      method,
      headers,
      ...(json !== undefined && { body: JSON.stringify(json) }),
    }),
    secured,
    createExecutionContext(),
  );
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, text };
}

const tokenFor = (cap: Record<string, Right[]>) => hs256({ cap, exp: nowS() + 600 });

/** Two tenants, each with a topic whose subscription dead-letters into the tenant's own queue. */
async function twoTenants() {
  const id = crypto.randomUUID().slice(0, 8);
  const tenants = { a: `tenant-${id}-a.`, b: `tenant-${id}-b.` };
  const setup = async (prefix: string) => {
    const topic = `${prefix}orders`;
    const dlq = `${prefix}orders-dead-letters`;
    const ok = async (method: string, path: string, json: unknown) => {
      const res = await call(method, path, ADMIN_KEY, json);
      expect(res.status, res.text).toBeLessThan(300);
    };
    await ok("PUT", `/v1/topics/${topic}`, { retention: { maxAge: "2d" } });
    await ok("PUT", `/v1/topics/${topic}/subscriptions/billing`, {
      deadLetterTopic: dlq,
      maxAttempts: 3,
      filter: { attributes: { region: "secret-region" } },
    });
    await ok("POST", `/v1/topics/${topic}/batch`, { messages: [{ data: 1 }] });
    return { topic, dlq };
  };
  return { id, tenants, a: await setup(tenants.a), b: await setup(tenants.b) };
}

describe("within a tenant: what each right sees", () => {
  it("shows a subscribe-only token stats and flow, never config or usage", async () => {
    const { tenants, a } = await twoTenants();
    const reader = await tokenFor({ [`${tenants.a}*`]: ["subscribe"] });

    const topic = await call("GET", `/v1/topics/${a.topic}`, reader);
    expect(topic.status).toBe(200);
    expect(Object.keys(topic.body).sort()).toEqual(["createdAt", "epoch", "flow", "name", "stats"]);
    expect(topic.body.stats).toMatchObject({ messages: 1, subscriptions: 1 });

    const sub = await call("GET", `/v1/topics/${a.topic}/subscriptions/billing`, reader);
    expect(sub.status).toBe(200);
    expect(Object.keys(sub.body).sort()).toEqual(["createdAt", "flow", "name", "stats", "topic"]);
    expect(sub.body.stats).toMatchObject({ backlog: expect.any(Number), deadLettered: 0 });

    const list = await call("GET", `/v1/topics/${a.topic}/subscriptions`, reader);
    expect(list.status).toBe(200);
    const [listed] = list.body.subscriptions as Record<string, unknown>[];
    expect(Object.keys(listed ?? {}).sort()).toEqual(["createdAt", "flow", "name", "stats", "topic"]);

    // Nowhere does the answer name the dead-letter topic or the filter's value.
    for (const res of [topic, sub, list]) {
      expect(res.text).not.toContain(a.dlq);
      expect(res.text).not.toContain("secret-region");
      expect(res.text).not.toContain("usage");
    }
  });

  it("shows config and usage exactly to the tokens that hold admin on the topic", async () => {
    const { tenants, a } = await twoTenants();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.constantFrom<Right>("publish", "subscribe", "admin"), { minLength: 1 }),
        fc.constantFrom(a.topic, `${tenants.a}*`, "*"),
        async (rights, pattern) => {
          const token = await tokenFor({ [pattern]: rights });
          const admin = rights.includes("admin");
          const canRead = admin || rights.includes("subscribe");
          const topic = await call("GET", `/v1/topics/${a.topic}`, token);
          const sub = await call("GET", `/v1/topics/${a.topic}/subscriptions/billing`, token);
          const list = await call("GET", `/v1/topics/${a.topic}/subscriptions`, token);
          if (!canRead) {
            expect([topic.status, sub.status, list.status]).toEqual([403, 403, 403]);
            return;
          }
          expect("config" in topic.body).toBe(admin);
          expect("usage" in topic.body).toBe(admin);
          expect("config" in sub.body).toBe(admin);
          const [listed] = list.body.subscriptions as Record<string, unknown>[];
          expect("config" in (listed ?? {})).toBe(admin);
          if (admin) expect(sub.body.config).toMatchObject({ deadLetterTopic: a.dlq, maxAttempts: 3 });
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("across tenants", () => {
  it("refuses every route on the other tenant's topic, without waking it", async () => {
    const { tenants, b } = await twoTenants();
    const before = await topicStub(b.topic).info();
    const requestsBefore = before.ok ? before.value.usage.requests : -1;
    const admin = await tokenFor({ [`${tenants.a}*`]: ["admin"] });
    const sub = `/v1/topics/${b.topic}/subscriptions/billing`;
    const routes: [string, string, unknown?][] = [
      ["GET", `/v1/topics/${b.topic}`],
      ["PUT", `/v1/topics/${b.topic}`, {}],
      ["DELETE", `/v1/topics/${b.topic}`],
      ["GET", `/v1/topics/${b.topic}/messages`],
      ["POST", `/v1/topics/${b.topic}/batch`, { messages: [{ data: 1 }] }],
      ["GET", `/v1/topics/${b.topic}/subscriptions`],
      ["GET", sub],
      ["PUT", sub, {}],
      ["DELETE", sub],
      ["POST", `${sub}/pull`, {}],
      ["POST", `${sub}/ack`, { seqs: [1] }],
      ["POST", `${sub}/seek`, { to: "earliest" }],
      // Its own subscription may not dead-letter into the other tenant's topic either.
      ["PUT", `/v1/topics/${tenants.a}orders/subscriptions/steal`, { deadLetterTopic: b.topic }],
    ];
    for (const [method, path, json] of routes) {
      const res = await call(method, path, admin, json);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      expect(res.text).not.toContain(b.dlq);
    }
    const after = await topicStub(b.topic).info();
    // The info call above is the only request the object served since `before`.
    expect(after.ok && after.value.usage.requests).toBe(requestsBefore + 1);
  });

  it("lists none of the other tenant's topics, in a page or a cursor, at any page size", async () => {
    const { id, tenants, a, b } = await twoTenants();
    const token = await tokenFor({ [`${tenants.a}*`]: ["admin"] });
    for (const limit of [1, 2, 3, 10]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 20; page++) {
        const query: string = `prefix=tenant-${id}&limit=${limit}${cursor === null ? "" : `&cursor=${cursor}`}`;
        const res = await call("GET", `/v1/topics?${query}`, token);
        expect(res.status).toBe(200);
        expect(res.text).not.toContain(tenants.b);
        seen.push(...(res.body.topics as { name: string }[]).map((t) => t.name));
        cursor = res.body.cursor as string | null;
        if (cursor === null) break;
      }
      // The dead-letter topics were never published to, so they are not topics yet.
      expect(seen).toEqual([a.topic]);
      expect(seen).not.toContain(b.topic);
    }
  });
});
