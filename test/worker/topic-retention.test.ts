import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshTopic, sqlIn, text, topicStub, unwrap } from "./helpers";

describe("retention", () => {
  it("deletes the oldest messages past maxMessages when no subscription needs them", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putConfig({ retention: { maxMessages: 3 } }));
    for (const body of ["a", "b", "c", "d", "e"]) unwrap(await topic.publish([text(body)]));
    const read = unwrap(await topic.read({ limit: 10, wait: 0 }));
    expect(read.messages.map((m) => m.data)).toEqual(["c", "d", "e"]);
    expect(unwrap(await topic.info()).stats).toMatchObject({
      messages: 3,
      firstSeq: 3,
      lastSeq: 5,
      dropped: 0,
    });
  });

  it("refuses a publish with topic_full rather than delete a message a subscription has not acked", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putConfig({ retention: { maxMessages: 2 } }));
    unwrap(await topic.putSubscription("slow", { startAt: "earliest" }));
    unwrap(await topic.publish([text("a"), text("b")]));
    const refused = await topic.publish([text("c")]);
    expect(refused).toMatchObject({ ok: false, code: "topic_full" });
    expect(unwrap(await topic.info()).stats).toMatchObject({ messages: 2, lastSeq: 2 });
    // Once acked, the oldest can go and the publish fits.
    unwrap(await topic.pull("slow", { max: 1, wait: 0 }));
    unwrap(await topic.ack("slow", { seqs: [1] }));
    expect(unwrap(await topic.publish([text("c")]))[0]?.seq).toBe(3);
  });

  it("drops unacked messages under drop-oldest, and counts them", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putConfig({ retention: { maxMessages: 2 }, onFull: "drop-oldest" }));
    unwrap(await topic.putSubscription("slow", { startAt: "earliest" }));
    unwrap(await topic.publish([text("a"), text("b")]));
    unwrap(await topic.publish([text("c")]));
    expect(unwrap(await topic.info()).stats).toMatchObject({ messages: 2, dropped: 1 });
    // A batch larger than the limit itself is refused, whatever the policy.
    expect(await topic.publish([text("1"), text("2"), text("3")])).toMatchObject({
      ok: false,
      code: "topic_full",
    });
    expect(unwrap(await topic.pull("slow", { max: 10, wait: 0 })).messages.map((m) => m.data)).toEqual([
      "b",
      "c",
    ]);
  });

  it("keeps the total size under maxBytes", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putConfig({ retention: { maxBytes: 10 } }));
    unwrap(await topic.publish([text("12345"), text("67890")]));
    unwrap(await topic.publish([text("abc")]));
    expect(unwrap(await topic.info()).stats).toMatchObject({ messages: 2, bytes: 8, firstSeq: 2 });
    expect(await topic.publish([text("x".repeat(11))])).toMatchObject({
      ok: false,
      code: "topic_full",
    });
  });

  it("deletes messages older than maxAge from the alarm", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putConfig({ retention: { maxAge: 60_000 } }));
    unwrap(await topic.publish([text("old"), text("new")]));
    await sqlIn(name, "UPDATE messages SET published_at = published_at - 120000 WHERE seq = 1");
    expect(await runDurableObjectAlarm(topic)).toBe(true);
    expect(unwrap(await topic.read({ limit: 10, wait: 0 })).messages.map((m) => m.data)).toEqual(["new"]);
  });

  it("forgets idempotency keys after the dedup window", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putConfig({ dedupWindow: 60_000 }));
    unwrap(await topic.publish([text("a", { idempotencyKey: "k" })]));
    await sqlIn(name, "UPDATE dedup SET expires_at = 1");
    await runDurableObjectAlarm(topic);
    expect(await sqlIn(name, "SELECT * FROM dedup")).toEqual([]);
    const again = unwrap(await topic.publish([text("a", { idempotencyKey: "k" })]));
    expect(again[0]).toMatchObject({ seq: 2, duplicate: false });
  });
});
