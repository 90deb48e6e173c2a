import { describe, expect, it } from "vitest";
import { toBase64 } from "../../src/protocol/message";
import { freshTopic } from "./helpers";
import { call, expectJson, expectProblem, readAll, topicExists } from "./http-support";

const MiB = 1024 * 1024;
const batch = (topic: string, body: unknown) => call("POST", `/v1/topics/${topic}/batch`, { json: body });

/** Posts a batch that must be refused, and checks that nothing reached the topic. */
async function refused(body: unknown, status: number, code: "invalid_request" | "payload_too_large") {
  const topic = freshTopic();
  const problem = await expectProblem(await batch(topic, body), status, code);
  expect(await topicExists(topic)).toBe(false);
  return problem.detail;
}

describe("POST /v1/topics/{topic}/batch", () => {
  it("publishes JSON, text and binary entries and answers 201 with one receipt each, in order", async () => {
    const topic = freshTopic();
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const res = await batch(topic, {
      messages: [
        { data: { order: 1, items: ["a"] }, attributes: { kind: "order" }, key: "c-1" },
        { data: "plain words", contentType: "text/plain" },
        { dataBase64: toBase64(bytes) },
        { data: "a JSON string" },
        { data: null },
        { dataBase64: btoa("[1,2]"), contentType: "application/json", delay: "0s" },
      ],
    });
    const { messages: receipts } = await expectJson<{
      messages: { seq: number; id: string; duplicate: boolean }[];
    }>(res, 201);
    expect(receipts.map((r) => [r.seq, r.duplicate])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, false],
      [5, false],
      [6, false],
    ]);
    const stored = await readAll(topic);
    expect(stored.map((m) => m.id)).toEqual(receipts.map((r) => r.id));
    expect(stored[0]).toMatchObject({
      contentType: "application/json",
      data: { order: 1, items: ["a"] },
      attributes: { kind: "order" },
      key: "c-1",
    });
    expect(stored[1]).toMatchObject({ contentType: "text/plain", data: "plain words" });
    expect(stored[2]).toMatchObject({ contentType: "application/octet-stream", dataBase64: toBase64(bytes) });
    expect(stored[3]).toMatchObject({ contentType: "application/json", data: "a JSON string" });
    expect(stored[4]).toMatchObject({ contentType: "application/json", data: null });
    expect(stored[5]).toMatchObject({ contentType: "application/json", data: [1, 2] });
  });

  it("answers a repeated idempotencyKey with the original seq", async () => {
    const topic = freshTopic();
    const first = await expectJson<{ messages: unknown[] }>(
      await batch(topic, { messages: [{ data: 1, idempotencyKey: "k" }] }),
      201,
    );
    const again = await expectJson<{ messages: unknown[] }>(
      await batch(topic, { messages: [{ data: 1, idempotencyKey: "k" }, { data: 2 }] }),
      201,
    );
    expect(again.messages).toEqual([
      { ...(first.messages[0] as object), duplicate: true },
      expect.objectContaining({ seq: 2 }),
    ]);
  });

  it("writes nothing when a single entry is invalid", async () => {
    const messages = [{ data: 1 }, { data: 2 }, { data: 3, delay: "forever" }, { data: 4 }];
    expect(await refused({ messages }, 400, "invalid_request")).toBe(
      "messages[2].delay must be a duration between 0ms and 7d",
    );
  });

  it.each([
    [
      "both data and dataBase64",
      { data: 1, dataBase64: "AA==" },
      "messages[0] must have exactly one of data and dataBase64",
    ],
    ["neither data nor dataBase64", { key: "k" }, "messages[0] must have exactly one of data and dataBase64"],
    ["invalid base64", { dataBase64: "not base64!" }, "messages[0].dataBase64 must be standard base64 text"],
    [
      "base64 that is not JSON under a JSON type",
      { dataBase64: btoa("{"), contentType: "application/json" },
      /^messages\[0\]\.dataBase64 must decode to valid JSON/,
    ],
    [
      "data under a binary type",
      { data: "x", contentType: "image/png" },
      /^messages\[0\]\.data cannot carry image\/png/,
    ],
    [
      "non-string data under a text type",
      { data: { a: 1 }, contentType: "text/plain" },
      /^messages\[0\]\.data cannot carry text\/plain: use a string/,
    ],
    [
      "a malformed contentType",
      { data: 1, contentType: "json" },
      /^messages\[0\]\.contentType must be a media type/,
    ],
    [
      "a non-string attribute",
      { data: 1, attributes: { n: 1 } },
      "messages[0].attributes.n must be a string",
    ],
    [
      "33 attributes",
      { data: 1, attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`a${i}`, ""])) },
      "messages[0].attributes must have at most 32 entries",
    ],
    [
      "over 8 KiB of attributes",
      { data: 1, attributes: { a: "x".repeat(8192) } },
      /^messages\[0\]\.attributes must total at most 8192 bytes/,
    ],
    [
      "a key over 1 KiB",
      { data: 1, key: "é".repeat(513) },
      /^messages\[0\]\.key must be a non-empty string of at most 1024 bytes/,
    ],
    ["an empty idempotencyKey", { data: 1, idempotencyKey: "" }, /^messages\[0\]\.idempotencyKey must be/],
    ["a seq", { data: 1, seq: 9 }, "messages[0].seq is set by the broker and cannot be given"],
    ["an id", { data: 1, id: "mine" }, "messages[0].id is set by the broker and cannot be given"],
    [
      "a publishedAt",
      { data: 1, publishedAt: 0 },
      "messages[0].publishedAt is set by the broker and cannot be given",
    ],
    ["an unknown field", { data: 1, priority: 3 }, 'messages[0] has an unknown field "priority"'],
  ])("refuses an entry with %s", async (_, entry, detail) => {
    const found = await refused({ messages: [entry] }, 400, "invalid_request");
    if (typeof detail === "string") expect(found).toBe(detail);
    else expect(found).toMatch(detail);
  });

  it("refuses an empty batch, a batch over 1,000 messages and a body that is not a batch", async () => {
    expect(await refused({ messages: [] }, 400, "invalid_request")).toBe(
      "messages must contain at least 1 message",
    );
    const tooMany = Array.from({ length: 1001 }, () => ({ data: 1 }));
    expect(await refused({ messages: tooMany }, 400, "invalid_request")).toBe(
      "messages must contain at most 1000 messages",
    );
    expect(await refused({}, 400, "invalid_request")).toBe("messages must be an array of messages");
    expect(await refused([{ data: 1 }], 400, "invalid_request")).toBe("request body must be a JSON object");
    expect(await refused({ messages: [{ data: 1 }], dryRun: true }, 400, "invalid_request")).toBe(
      'request body has an unknown field "dryRun"',
    );
  });

  it("accepts exactly 1,000 messages", async () => {
    const topic = freshTopic();
    const res = await batch(topic, { messages: Array.from({ length: 1000 }, (_, i) => ({ data: i })) });
    const { messages } = await expectJson<{ messages: { seq: number }[] }>(res, 201);
    expect(messages.at(-1)?.seq).toBe(1000);
  });

  it("refuses malformed JSON", async () => {
    const topic = freshTopic();
    const res = await call("POST", `/v1/topics/${topic}/batch`, {
      body: '{"messages": [',
      headers: { "content-type": "application/json" },
    });
    expect((await expectProblem(res, 400, "invalid_request")).detail).toBe("request body is not valid JSON");
    expect(await topicExists(topic)).toBe(false);
  });

  it("refuses an entry whose body is over 1 MiB with payload_too_large", async () => {
    const detail = await refused(
      { messages: [{ data: 1 }, { dataBase64: toBase64(new Uint8Array(MiB + 1)) }] },
      413,
      "payload_too_large",
    );
    expect(detail).toBe(`messages[1].dataBase64 must be at most ${MiB} bytes`);
  });

  it("refuses a request body over 8 MiB with payload_too_large", async () => {
    const chunk = toBase64(new Uint8Array(768 * 1024));
    const messages = Array.from({ length: 12 }, () => ({ dataBase64: chunk }));
    await refused({ messages }, 413, "payload_too_large");
  });
});
