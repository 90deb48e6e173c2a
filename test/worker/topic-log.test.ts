import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshTopic, text, topicStub, unwrap } from "./helpers";

describe("the topic log", () => {
  it("assigns strictly increasing seqs and reads them back in order", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    const first = unwrap(await topic.publish([text("a"), text("b")]));
    const second = unwrap(await topic.publish([text("c")]));
    expect([...first, ...second].map((r) => r.seq)).toEqual([1, 2, 3]);
    const read = unwrap(await topic.read({ limit: 10, wait: 0 }));
    expect(read.messages.map((m) => m.data)).toEqual(["a", "b", "c"]);
    expect(read.next).toBe(3);
    expect(read.epoch).toMatch(/^[0-9a-f]{16}$/);
  });

  it("reads from a seq and pages with next", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish(Array.from({ length: 5 }, (_, i) => text(`m${i}`))));
    const page = unwrap(await topic.read({ after: 2, limit: 2, wait: 0 }));
    expect(page.messages.map((m) => m.seq)).toEqual([3, 4]);
    const rest = unwrap(await topic.read({ after: page.next, limit: 10, wait: 0 }));
    expect(rest.messages.map((m) => m.seq)).toEqual([5]);
  });

  it("keeps bodies byte-exact and encodes them by content type", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    const bytes = new Uint8Array([0, 255, 1, 128, 10, 13]);
    unwrap(
      await topic.publish([
        { body: bytes, contentType: "application/octet-stream", attributes: { a: "1" }, key: "k" },
        { body: new TextEncoder().encode('{"x":[1,2]}'), contentType: "application/json", attributes: {} },
      ]),
    );
    const [binary, json] = unwrap(await topic.read({ limit: 10, wait: 0 })).messages;
    expect(binary?.dataBase64).toBe(btoa(String.fromCharCode(...bytes)));
    expect(binary?.attributes).toEqual({ a: "1" });
    expect(binary?.key).toBe("k");
    expect(json?.data).toEqual({ x: [1, 2] });
  });

  it("returns the original seq for a repeated idempotency key, within a batch and across batches", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    const first = unwrap(
      await topic.publish([text("a", { idempotencyKey: "k1" }), text("a again", { idempotencyKey: "k1" })]),
    );
    expect(first).toMatchObject([
      { seq: 1, duplicate: false },
      { seq: 1, duplicate: true },
    ]);
    expect(first[1]?.id).toBe(first[0]?.id);
    const again = unwrap(await topic.publish([text("b", { idempotencyKey: "k1" }), text("c")]));
    expect(again).toMatchObject([
      { seq: 1, duplicate: true },
      { seq: 2, duplicate: false },
    ]);
    const info = unwrap(await topic.info());
    expect(info.stats).toMatchObject({ messages: 2, published: 2, duplicates: 2, lastSeq: 2 });
  });

  it("answers a long-poll read as soon as a message lands", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("first")]));
    const waiting = topic.read({ after: 1, limit: 10, wait: 10_000 });
    const started = Date.now();
    unwrap(await topic.publish([text("second")]));
    const result = unwrap(await waiting);
    expect(result.messages.map((m) => m.data)).toEqual(["second"]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("answers an empty long-poll when the wait runs out", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("only")]));
    const result = unwrap(await topic.read({ after: 1, limit: 10, wait: 50 }));
    expect(result).toMatchObject({ messages: [], next: 1 });
  });

  it("says not_found for a topic that was never created", async () => {
    const topic = topicStub(freshTopic());
    expect(await topic.read({ limit: 1, wait: 0 })).toMatchObject({ ok: false, code: "not_found" });
    expect(await topic.info()).toMatchObject({ ok: false, code: "not_found" });
    expect(await topic.destroy()).toMatchObject({ ok: false, code: "not_found" });
  });

  it("keeps seqs and the log across an eviction", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("a"), text("b")]));
    await evictDurableObject(topic);
    const after = unwrap(await topic.publish([text("c")]));
    expect(after[0]?.seq).toBe(3);
    expect(unwrap(await topic.read({ limit: 10, wait: 0 })).messages).toHaveLength(3);
  });

  it("starts a new epoch and seq 1 after the topic is deleted and re-created", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("a")]));
    const before = unwrap(await topic.info()).epoch;
    unwrap(await topic.destroy());
    expect(await topic.info()).toMatchObject({ ok: false, code: "not_found" });
    const receipt = unwrap(await topic.publish([text("b")]));
    expect(receipt[0]?.seq).toBe(1);
    expect(unwrap(await topic.info()).epoch).not.toBe(before);
  });

  it("writes concurrent publishes in one group and answers each", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    const receipts = await Promise.all(Array.from({ length: 50 }, (_, i) => topic.publish([text(`m${i}`)])));
    const seqs = receipts.map((r) => unwrap(r)[0]?.seq).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });
});
