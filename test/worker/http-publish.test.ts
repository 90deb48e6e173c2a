import { describe, expect, it } from "vitest";
import { toBase64 } from "../../src/protocol/message";
import { freshTopic } from "./helpers";
import { call, chunkedBody, expectJson, expectProblem, readAll, topicExists } from "./http-support";

const MiB = 1024 * 1024;
const publish = (topic: string, init: Parameters<typeof call>[2], query = "") =>
  call("POST", `/v1/topics/${topic}/messages${query}`, init);

describe("POST /v1/topics/{topic}/messages", () => {
  it("stores every byte value exactly and answers 201 with seq, id and duplicate", async () => {
    const topic = freshTopic();
    const bytes = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);
    const receipt = await expectJson(await publish(topic, { body: bytes }), 201);
    expect(receipt).toEqual({ seq: 1, id: expect.any(String), duplicate: false });
    const [message] = await readAll(topic);
    expect(message).toMatchObject({
      seq: 1,
      id: receipt.id,
      contentType: "application/octet-stream",
      attributes: {},
    });
    expect(message?.dataBase64).toBe(toBase64(bytes));
  });

  it("keeps the Content-Type it was given and shows JSON and text bodies as data", async () => {
    const topic = freshTopic();
    await expectJson(
      await publish(topic, { body: '{"n":[1,2]}', headers: { "content-type": "application/json" } }),
      201,
    );
    await expectJson(
      await publish(topic, { body: "héllo\n", headers: { "content-type": "text/plain; charset=utf-8" } }),
      201,
    );
    await expectJson(
      await publish(topic, { body: "<a/>", headers: { "content-type": "application/xml" } }),
      201,
    );
    const [json, text, xml] = await readAll(topic);
    expect(json).toMatchObject({ contentType: "application/json", data: { n: [1, 2] } });
    expect(text).toMatchObject({ contentType: "text/plain; charset=utf-8", data: "héllo\n" });
    expect(xml).toMatchObject({ contentType: "application/xml", dataBase64: btoa("<a/>") });
  });

  it("publishes an empty body", async () => {
    const topic = freshTopic();
    await expectJson(await publish(topic, { body: new Uint8Array(0) }), 201);
    expect((await readAll(topic))[0]?.dataBase64).toBe("");
  });

  it("refuses a body that is not JSON when the Content-Type says JSON, and writes nothing", async () => {
    const topic = freshTopic();
    for (const contentType of ["application/json", "application/cloudevents+json"]) {
      const res = await publish(topic, { body: "{not json", headers: { "content-type": contentType } });
      expect((await expectProblem(res, 400, "invalid_request")).detail).toContain(contentType);
    }
    expect(await topicExists(topic)).toBe(false);
  });

  it("refuses a malformed Content-Type", async () => {
    const topic = freshTopic();
    const problem = await expectProblem(
      await publish(topic, { body: "x", headers: { "content-type": "nonsense" } }),
      400,
      "invalid_request",
    );
    expect(problem.detail).toMatch(/^Content-Type must be a media type/);
    expect(await topicExists(topic)).toBe(false);
  });

  it("takes attributes from X-Attr-* headers, with names in lower case", async () => {
    const topic = freshTopic();
    const headers = { "X-Attr-Region": "eu-west", "x-attr-tenant": "acme", "X-Other": "ignored" };
    await expectJson(await publish(topic, { body: "x", headers }), 201);
    expect((await readAll(topic))[0]?.attributes).toEqual({ region: "eu-west", tenant: "acme" });
  });

  it("refuses more than 32 attributes or more than 8 KiB of them", async () => {
    const topic = freshTopic();
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`x-attr-a${i}`, "v"]));
    const tooMany = await expectProblem(
      await publish(topic, { body: "x", headers: many }),
      400,
      "invalid_request",
    );
    expect(tooMany.detail).toBe("X-Attr-* headers must have at most 32 entries");
    const big = { "x-attr-a": "v".repeat(5000), "x-attr-b": "v".repeat(5000) };
    await expectProblem(await publish(topic, { body: "x", headers: big }), 400, "invalid_request");
    expect(await topicExists(topic)).toBe(false);
  });

  it("sets the ordering key from ?key= and refuses a key over 1 KiB", async () => {
    const topic = freshTopic();
    await expectJson(await publish(topic, { body: "x" }, "?key=customer%2F42"), 201);
    expect((await readAll(topic))[0]?.key).toBe("customer/42");
    const other = freshTopic();
    const res = await publish(other, { body: "x" }, `?key=${"k".repeat(1025)}`);
    expect((await expectProblem(res, 400, "invalid_request")).detail).toMatch(/^key must be/);
    expect(await topicExists(other)).toBe(false);
  });

  it("accepts ?delay= as a duration and refuses one that is not, or longer than 7 days", async () => {
    const topic = freshTopic();
    await expectJson(await publish(topic, { body: "x" }, "?delay=250ms"), 201);
    const other = freshTopic();
    for (const delay of ["soon", "-5", "8d", "1y"]) {
      const problem = await expectProblem(
        await publish(other, { body: "x" }, `?delay=${delay}`),
        400,
        "invalid_request",
      );
      expect(problem.detail).toBe("delay must be a duration between 0ms and 7d");
    }
    expect(await topicExists(other)).toBe(false);
  });

  it("answers a repeated Idempotency-Key with the original seq and duplicate: true, storing one message", async () => {
    const topic = freshTopic();
    const headers = { "idempotency-key": "order-17" };
    const first = await expectJson(await publish(topic, { body: "a", headers }), 201);
    const second = await expectJson(await publish(topic, { body: "a", headers }), 201);
    expect(first).toMatchObject({ seq: 1, duplicate: false });
    expect(second).toEqual({ seq: 1, id: first.id, duplicate: true });
    await expectJson(await publish(topic, { body: "b", headers: { "idempotency-key": "order-18" } }), 201);
    expect((await readAll(topic)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it("refuses an empty or oversized Idempotency-Key", async () => {
    const topic = freshTopic();
    for (const key of ["", "k".repeat(1025)]) {
      const problem = await expectProblem(
        await publish(topic, { body: "x", headers: { "idempotency-key": key } }),
        400,
        "invalid_request",
      );
      expect(problem.detail).toMatch(/^Idempotency-Key must be a non-empty string/);
    }
    expect(await topicExists(topic)).toBe(false);
  });

  it("accepts a body of exactly 1 MiB", async () => {
    const topic = freshTopic();
    await expectJson(await publish(topic, { body: new Uint8Array(MiB).fill(1) }), 201);
  });

  it("refuses a body over 1 MiB with 413 payload_too_large", async () => {
    const topic = freshTopic();
    await expectProblem(await publish(topic, { body: new Uint8Array(MiB + 1) }), 413, "payload_too_large");
    expect(await topicExists(topic)).toBe(false);
  });

  it("refuses a streamed body without Content-Length once it passes 1 MiB, without reading the rest", async () => {
    const topic = freshTopic();
    const chunks = 256; // 16 MiB offered in 64 KiB chunks
    const { body, pulled } = chunkedBody(chunks, 64 * 1024);
    const res = await publish(topic, { body });
    await expectProblem(res, 413, "payload_too_large");
    // 1 MiB is 16 chunks and the 17th crosses the limit; allow a few more in flight in the pipe.
    expect(pulled()).toBeLessThanOrEqual(20);
    expect(await topicExists(topic)).toBe(false);
  });

  it("accepts a streamed body without Content-Length under the limit, byte for byte", async () => {
    const topic = freshTopic();
    const { body } = chunkedBody(8, 1000);
    await expectJson(await publish(topic, { body }), 201);
    const stored = Uint8Array.from(atob((await readAll(topic))[0]?.dataBase64 ?? ""), (c) => c.charCodeAt(0));
    expect(stored.byteLength).toBe(8000);
    expect([stored[0], stored[999], stored[1000], stored[7999]]).toEqual([1, 1, 2, 8]);
  });
});
