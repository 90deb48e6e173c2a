/**
 * Hostile query strings and headers: numbers that are negative, huge, fractional, not numbers or
 * repeated; idempotency keys past their limit; content types of any shape; too many attributes.
 * Each is refused with `invalid_request` naming what was wrong, before anything is written.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/protocol/limits";
import { freshTopic, topicStub, unwrap } from "./helpers";
import { call, expectJson, expectProblem, readAll, topicExists } from "./http-support";

/** Text that is never a non-negative integer in a query string. */
const notAnInteger = fc.oneof(
  fc.integer({ max: -1 }).map(String),
  fc
    .double({ noNaN: true })
    .filter((n) => !Number.isInteger(n))
    .map(String),
  fc.constantFrom(
    "NaN",
    "Infinity",
    "-0",
    "1e3",
    "0x10",
    "+5",
    " 5",
    "5 ",
    "",
    "\u0665",
    "99999999999999999999",
  ),
  fc.constantFrom(String(Number.MAX_SAFE_INTEGER + 2), "1,000", "5abc", "true", "null", "[1]", "%00"),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^\d+$/.test(s)),
);

/** Text that is never a duration of at most 30 s. */
const notAWait = fc.oneof(
  notAnInteger.filter((s) => !/^\s*\d+\s*$/.test(s)),
  fc.constantFrom("31s", "30001", "1m", "-1s", "1.5", "1e3ms", "5 s", "5S", "1y", "0.5h"),
);

/** Text that is never a delay (a duration from 0 to 7 days). */
const notADelay = fc.oneof(
  fc.integer({ max: -1 }).map(String),
  fc.constantFrom(
    "8d",
    "604800001",
    "169h",
    "-1s",
    "1y",
    "1.5",
    "1e3",
    "5 s",
    "5S",
    "Infinity",
    "NaN",
    "0x10",
    "",
  ),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^\s*\d+(\.\d+)?(ms|s|m|h|d)?\s*$/.test(s)),
);

const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** An existing topic with three messages, shared by the read-only properties below. */
async function seeded(): Promise<string> {
  const topic = freshTopic();
  await expectJson(
    await call("POST", `/v1/topics/${topic}/batch`, {
      json: { messages: [{ data: 1 }, { data: 2 }, { data: 3 }] },
    }),
    201,
  );
  return topic;
}

const published = async (topic: string) => unwrap(await topicStub(topic).info()).stats.published;

describe("hostile query strings", () => {
  it("refuses a log read whose after, limit or wait is not a number in range, naming it", async () => {
    const topic = await seeded();
    const param = fc.oneof(
      fc.tuple(fc.constant("after"), notAnInteger),
      fc.tuple(fc.constant("limit"), fc.oneof(notAnInteger, fc.constantFrom("0", "1001", "1000000"))),
      fc.tuple(fc.constant("wait"), notAWait),
    );
    await fc.assert(
      fc.asyncProperty(param, async ([name, value]) => {
        const res = await call("GET", `/v1/topics/${topic}/messages?${q({ [name]: value })}`);
        const problem = await expectProblem(res, 400, "invalid_request");
        expect(problem.detail.startsWith(name)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("reads a repeated parameter as its first occurrence, and ignores bracketed arrays", async () => {
    const topic = await seeded();
    const value = fc.oneof(fc.integer({ min: 1, max: 3 }).map(String), notAnInteger);
    await fc.assert(
      fc.asyncProperty(value, value, async (first, second) => {
        const once = await call("GET", `/v1/topics/${topic}/messages?${q({ limit: first })}`);
        const twice = await call(
          "GET",
          `/v1/topics/${topic}/messages?${q({ limit: first })}&${q({ limit: second })}`,
        );
        expect(twice.status).toBe(once.status);
        // The same answer, but for the id every request gets afresh (a problem carries it).
        const answer = async (res: Response) => (await res.text()).replace(/"requestId":"[^"]*"/, "");
        expect(await answer(twice)).toBe(await answer(once));
      }),
      { numRuns: 40 },
    );
    const bracketed = await expectJson<{ messages: unknown[] }>(
      await call("GET", `/v1/topics/${topic}/messages?limit[]=1&limit[0]=x`),
      200,
    );
    expect(bracketed.messages).toHaveLength(3);
  });

  it("refuses a publish with a bad delay or key in the query, writing nothing", async () => {
    const bad = fc.oneof(
      fc.tuple(fc.constant("delay"), notADelay),
      fc.tuple(
        fc.constant("key"),
        fc.constantFrom("", "k".repeat(LIMITS.keyBytes + 1), "\u00e9".repeat(513)),
      ),
    );
    await fc.assert(
      fc.asyncProperty(bad, async ([name, value]) => {
        const topic = freshTopic();
        const res = await call("POST", `/v1/topics/${topic}/messages?${q({ [name]: value })}`, { body: "x" });
        await expectProblem(res, 400, "invalid_request");
        expect(await topicExists(topic)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it("refuses a topic listing with a bad limit, prefix or cursor, and survives any cursor it accepts", async () => {
    for (const query of [
      "limit=0",
      "limit=1001",
      "limit=-5",
      "prefix=a/b",
      `prefix=${"a".repeat(129)}`,
      `cursor=${"c".repeat(1025)}`,
    ]) {
      await expectProblem(await call("GET", `/v1/topics?${query}`), 400, "invalid_request");
    }
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", minLength: 1, maxLength: 300 }), async (cursor) => {
        const res = await call("GET", `/v1/topics?${q({ cursor, limit: "5" })}`);
        expect(res.status).toBe(200);
        const page = (await res.json()) as { topics: { name: string }[] };
        expect(page.topics.every((t) => t.name > cursor)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it("refuses a live tail with a bad after or epoch before upgrading", async () => {
    const topic = await seeded();
    const upgrade = { Upgrade: "websocket", "Sec-WebSocket-Protocol": "edge-broker.v1" };
    const bad = fc.oneof(
      fc.tuple(fc.constant("after"), notAnInteger),
      fc.tuple(fc.constant("epoch"), fc.constantFrom("", "XYZ", "0".repeat(65), "../x", "dead beef")),
    );
    await fc.assert(
      fc.asyncProperty(bad, async ([name, value]) => {
        const res = await call("GET", `/v1/topics/${topic}/ws?${q({ [name]: value })}`, { headers: upgrade });
        expect(res.webSocket).toBeNull();
        await expectProblem(res, 400, "invalid_request");
      }),
      { numRuns: 50 },
    );
    const res = await call("GET", `/v1/topics/${topic}/messages`, {
      headers: { Accept: "text/event-stream", "Last-Event-ID": "-1" },
    });
    await expectProblem(res, 400, "invalid_request");
  });
});

describe("hostile headers", () => {
  it("refuses an Idempotency-Key past 1 KiB or empty, writing nothing; accepts one up to 1 KiB", async () => {
    // Header values are bytes; a browser can only send ASCII ones, so the keys stay printable ASCII.
    const tooLong = fc.string({
      unit: fc.constantFrom(..."abcXYZ0189-_.~!$*+:/=?@"),
      minLength: LIMITS.keyBytes + 1,
      maxLength: 8 * 1024,
    });
    await fc.assert(
      fc.asyncProperty(tooLong, async (key) => {
        const topic = freshTopic();
        const res = await call("POST", `/v1/topics/${topic}/messages`, {
          body: "x",
          headers: { "Idempotency-Key": key },
        });
        const problem = await expectProblem(res, 400, "invalid_request");
        expect(problem.detail).toMatch(/^Idempotency-Key/);
        expect(await topicExists(topic)).toBe(false);
      }),
      { numRuns: 50 },
    );
    const topic = freshTopic();
    const key = "k".repeat(LIMITS.keyBytes);
    await expectJson(
      await call("POST", `/v1/topics/${topic}/messages`, { body: "x", headers: { "Idempotency-Key": key } }),
      201,
    );
    const again = await expectJson<{ duplicate: boolean }>(
      await call("POST", `/v1/topics/${topic}/messages`, { body: "x", headers: { "Idempotency-Key": key } }),
      201,
    );
    expect(again.duplicate).toBe(true);
  });

  it("stores any Content-Type exactly as sent, or refuses it and writes nothing", async () => {
    const headerText = fc
      .string({ unit: "binary-ascii", minLength: 1, maxLength: 300 })
      .map((s) => s.replace(/[^ -~]/g, "").trim())
      .filter((s) => s !== "");
    const shaped = fc
      .tuple(
        fc.constantFrom("application", "text", "x", "*", ""),
        fc.constantFrom("json", "plain", "a+json", "", "/x"),
        headerText,
      )
      .map(([type, sub, params]) => `${type}/${sub}; ${params}`.trim());
    await fc.assert(
      fc.asyncProperty(fc.oneof(headerText, shaped), async (contentType) => {
        const topic = freshTopic();
        const res = await call("POST", `/v1/topics/${topic}/messages`, {
          body: '"x"',
          headers: { "content-type": contentType },
        });
        if (res.status === 201) {
          const [message] = await readAll(topic);
          expect(message?.contentType).toBe(contentType);
        } else {
          const problem = await expectProblem(res, 400, "invalid_request");
          expect(problem.detail).toMatch(/^Content-Type/);
          expect(await topicExists(topic)).toBe(false);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("refuses 33 X-Attr headers, an empty attribute name, or 8 KiB of attributes; stores 32", async () => {
    const topic = freshTopic();
    const attrs = (n: number, value = "v") =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-Attr-a${i}`, value]));
    for (const headers of [attrs(33), attrs(2, "x".repeat(4 * 1024)), { "X-Attr-": "empty name" }]) {
      await expectProblem(
        await call("POST", `/v1/topics/${topic}/messages`, { body: "x", headers }),
        400,
        "invalid_request",
      );
    }
    expect(await topicExists(topic)).toBe(false);
    await expectJson(
      await call("POST", `/v1/topics/${topic}/messages`, { body: "x", headers: attrs(32) }),
      201,
    );
    expect(Object.keys((await readAll(topic))[0]?.attributes ?? {})).toHaveLength(32);
    expect(await published(topic)).toBe(1);
  });
});
