/**
 * Hostile request bodies: text that is not JSON, bytes that are not UTF-8, nesting far past
 * anything real, bodies past every size limit (declared or streamed without a length), and lengths
 * that lie. Each is refused with its documented code and a read afterwards shows nothing written;
 * what is accepted is stored byte for byte.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONTROL_BODY_BYTES } from "../../src/protocol/http";
import { LIMITS } from "../../src/protocol/limits";
import { freshTopic } from "./helpers";
import { call, chunkedBody, expectJson, expectProblem, readAll, topicExists } from "./http-support";

const JSON_TYPE = { "content-type": "application/json" };

/** Routes whose body is JSON, on a topic and subscription that do not exist. */
const jsonRoutes = (t: string): [string, string][] => [
  ["POST", `/v1/topics/${t}/batch`],
  ["PUT", `/v1/topics/${t}`],
  ["PUT", `/v1/topics/${t}/subscriptions/s`],
  ["POST", `/v1/topics/${t}/subscriptions/s/pull`],
  ["POST", `/v1/topics/${t}/subscriptions/s/ack`],
  ["POST", `/v1/topics/${t}/subscriptions/s/nack`],
  ["POST", `/v1/topics/${t}/subscriptions/s/extend`],
  ["POST", `/v1/topics/${t}/subscriptions/s/seek`],
];

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Text that is not JSON, and not blank (a blank control body reads as `{}`). */
const notJson = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.json().map((j) => j.slice(0, -1)),
    fc.json().map((j) => `${j},`),
    fc.constantFrom("{", "[", '{"a":}', "{'a':1}", "NaN", "undefined", '{"a":1}}', "\u0000", '"\ud800'),
  )
  .filter((s) => s.trim() !== "" && !isJson(s));

/** Bytes that are not UTF-8: valid text with an invalid sequence spliced in. */
const notUtf8 = fc
  .tuple(
    fc.string({ maxLength: 50 }),
    fc.constantFrom(
      [0xff],
      [0xc0, 0xaf],
      [0x80],
      [0xed, 0xa0, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
    ),
    fc.string({ maxLength: 50 }),
  )
  .map(([a, bad, b]) => {
    const encoder = new TextEncoder();
    return new Uint8Array([...encoder.encode(`"${a}`), ...bad, ...encoder.encode(`${b}"`)]);
  });

const nestedArrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

describe("hostile bodies", () => {
  it("refuses text that is not JSON on every JSON route with invalid_request, writing nothing", async () => {
    await fc.assert(
      fc.asyncProperty(notJson, fc.nat(7), async (body, route) => {
        const topic = freshTopic();
        const [method, path] = jsonRoutes(topic)[route] as [string, string];
        const problem = await expectProblem(
          await call(method, path, { body, headers: JSON_TYPE }),
          400,
          "invalid_request",
        );
        expect(problem.detail).toMatch(/JSON|UTF-8/);
        expect(await topicExists(topic)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("refuses a raw publish whose body is not the JSON its Content-Type promises", async () => {
    await fc.assert(
      fc.asyncProperty(
        notJson,
        fc.constantFrom("application/json", "application/cloudevents+json"),
        async (body, type) => {
          const topic = freshTopic();
          const res = await call("POST", `/v1/topics/${topic}/messages`, {
            body,
            headers: { "content-type": type },
          });
          await expectProblem(res, 400, "invalid_request");
          expect(await topicExists(topic)).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("refuses bytes that are not UTF-8 under a JSON content type, on raw publish and JSON routes", async () => {
    await fc.assert(
      fc.asyncProperty(notUtf8, fc.nat(8), async (bytes, route) => {
        const topic = freshTopic();
        const [method, path] =
          route === 8
            ? ["POST", `/v1/topics/${topic}/messages`]
            : (jsonRoutes(topic)[route] as [string, string]);
        await expectProblem(
          await call(method, path, { body: bytes, headers: JSON_TYPE }),
          400,
          "invalid_request",
        );
        expect(await topicExists(topic)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it("stores any bytes under a binary content type exactly as sent", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const topic = freshTopic();
        const headers = { "content-type": "application/octet-stream" };
        await expectJson(await call("POST", `/v1/topics/${topic}/messages`, { body: bytes, headers }), 201);
        const [message] = await readAll(topic);
        const stored = Uint8Array.from(atob(message?.dataBase64 ?? ""), (c) => c.charCodeAt(0));
        expect(stored).toEqual(bytes);
      }),
      { numRuns: 50 },
    );
  });

  it.each([
    ["10,000 nested arrays", nestedArrays(10_000)],
    ["10,000 nested objects", nestedObjects(10_000)],
  ])("refuses %s as a control body, writing nothing", async (_, deep) => {
    const topic = freshTopic();
    for (const [method, path] of jsonRoutes(topic)) {
      await expectProblem(
        await call(method, path, { body: deep, headers: JSON_TYPE }),
        400,
        "invalid_request",
      );
    }
    await expectProblem(
      await call("POST", `/v1/topics/${topic}/batch`, { body: `{"messages":${deep}}` }),
      400,
      "invalid_request",
    );
    expect(await topicExists(topic)).toBe(false);
  });

  // A body nested thousands deep is valid JSON, but the parsed value cannot travel back out of
  // the topic's object (the runtime's stack overflows): publish refuses it past LIMITS.jsonDepth.
  it.each([
    [
      "a raw publish",
      (t: string) =>
        call("POST", `/v1/topics/${t}/messages`, { body: nestedArrays(10_000), headers: JSON_TYPE }),
    ],
    [
      "a batch entry",
      (t: string) =>
        call("POST", `/v1/topics/${t}/batch`, { body: `{"messages":[{"data":${nestedArrays(10_000)}}]}` }),
    ],
  ])(
    "refuses 10,000 nested arrays in %s, and accepts and reads back the deepest allowed",
    async (_, publish) => {
      const topic = freshTopic();
      const problem = await expectProblem(await publish(topic), 400, "invalid_request");
      expect(problem.detail).toMatch(/levels deep/);
      expect(await topicExists(topic)).toBe(false);
      const deepest = nestedArrays(LIMITS.jsonDepth);
      await expectJson(
        await call("POST", `/v1/topics/${topic}/messages`, { body: deepest, headers: JSON_TYPE }),
        201,
      );
      const read = await expectJson<{ messages: { data: unknown }[] }>(
        await call("GET", `/v1/topics/${topic}/messages`),
        200,
      );
      expect(JSON.stringify(read.messages[0]?.data)).toBe(deepest);
    },
  );

  it("refuses a raw publish past 1 MiB with payload_too_large, declared or streamed", async () => {
    const topic = freshTopic();
    const over = new Uint8Array(LIMITS.messageBytes + 1);
    await expectProblem(
      await call("POST", `/v1/topics/${topic}/messages`, { body: over }),
      413,
      "payload_too_large",
    );
    const stream = chunkedBody(64, 64 * 1024);
    const res = await call("POST", `/v1/topics/${topic}/messages`, { body: stream.body });
    await expectProblem(res, 413, "payload_too_large");
    // The reader stopped at the chunk that crossed the limit instead of buffering the rest.
    expect(stream.pulled()).toBeLessThanOrEqual(LIMITS.messageBytes / (64 * 1024) + 2);
    expect(await topicExists(topic)).toBe(false);
    // Exactly at the limit is accepted.
    await expectJson(
      await call("POST", `/v1/topics/${topic}/messages`, { body: new Uint8Array(LIMITS.messageBytes) }),
      201,
    );
  });

  it("refuses a batch past 8 MiB streamed without a length, and a control body past 64 KiB", async () => {
    const topic = freshTopic();
    const stream = chunkedBody(144, 64 * 1024);
    const batch = await call("POST", `/v1/topics/${topic}/batch`, { body: stream.body, headers: JSON_TYPE });
    await expectProblem(batch, 413, "payload_too_large");
    expect(stream.pulled()).toBeLessThan(144);
    const padded = JSON.stringify({ onFull: "reject", pad: "x".repeat(CONTROL_BODY_BYTES) });
    for (const [method, path] of jsonRoutes(topic).slice(1)) {
      await expectProblem(
        await call(method, path, { body: padded, headers: JSON_TYPE }),
        413,
        "payload_too_large",
      );
    }
    expect(await topicExists(topic)).toBe(false);
  });

  it("refuses at once a body whose declared length is past the limit, whatever it carries", async () => {
    const topic = freshTopic();
    for (const length of [String(LIMITS.messageBytes + 1), "99999999999999999999", "1e12"]) {
      const res = await call("POST", `/v1/topics/${topic}/messages`, {
        body: "small",
        headers: { "content-length": length },
      });
      await expectProblem(res, 413, "payload_too_large");
    }
    expect(await topicExists(topic)).toBe(false);
  });

  it("stores exactly the bytes that arrived when Content-Length lies or is garbage", async () => {
    const topic = freshTopic();
    const lies = ["3", "0", "-1", "abc", "11, 11", " 7 "];
    for (const length of lies) {
      const res = await call("POST", `/v1/topics/${topic}/messages`, {
        body: "hello world",
        headers: { "content-length": length, "content-type": "text/plain" },
      });
      await expectJson(res, 201);
    }
    const stored = await readAll(topic);
    expect(stored.map((m) => m.data)).toEqual(lies.map(() => "hello world"));
  });
});
