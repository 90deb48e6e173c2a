import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Topic } from "../../src/topic/topic";
import { dueRetries, expireLeases, freshTopic, sqlIn, text, topicStub, unwrap } from "./helpers";

async function setup(config: Parameters<ReturnType<typeof topicStub>["putSubscription"]>[1] = {}) {
  const name = freshTopic();
  const topic = topicStub(name);
  unwrap(await topic.putSubscription("work", { startAt: "earliest", ...config }));
  return { name, topic };
}

describe("subscriptions", () => {
  it("leases messages in seq order with attempt 1 and a lease expiry", async () => {
    const { topic } = await setup();
    unwrap(await topic.publish([text("a"), text("b"), text("c")]));
    const { messages } = unwrap(await topic.pull("work", { max: 2, wait: 0 }));
    expect(messages.map((m) => [m.seq, m.attempt])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(messages[0]?.leaseExpiresAt).toBeGreaterThan(Date.now());
    const rest = unwrap(await topic.pull("work", { max: 10, wait: 0 }));
    expect(rest.messages.map((m) => m.seq)).toEqual([3]);
  });

  it("starts at latest by default and at a seq or a time when asked", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("old1"), text("old2")]));
    unwrap(await topic.putSubscription("latest", {}));
    unwrap(await topic.putSubscription("from2", { startAt: { seq: 2 } }));
    unwrap(await topic.putSubscription("since0", { startAt: { time: 0 } }));
    // A time after the newest message starts at the next one, like latest.
    unwrap(await topic.putSubscription("future", { startAt: { time: Date.now() + 60_000 } }));
    unwrap(await topic.publish([text("new")]));
    const seqs = async (sub: string) =>
      unwrap(await topic.pull(sub, { max: 10, wait: 0 })).messages.map((m) => m.seq);
    expect(await seqs("latest")).toEqual([3]);
    expect(await seqs("from2")).toEqual([2, 3]);
    expect(await seqs("since0")).toEqual([1, 2, 3]);
    expect(await seqs("future")).toEqual([3]);
  });

  it("removes acked messages and moves the ack floor", async () => {
    const { name, topic } = await setup();
    unwrap(await topic.publish([text("a"), text("b"), text("c")]));
    unwrap(await topic.pull("work", { max: 3, wait: 0 }));
    expect(unwrap(await topic.ack("work", { seqs: [2] }))).toEqual({ acked: 1 });
    let stats = unwrap(await topic.getSubscription("work")).stats;
    expect(stats).toMatchObject({ ackFloor: 1, inFlight: 2, backlog: 2, acked: 1 });
    expect(unwrap(await topic.ack("work", { seqs: [1, 3, 3, 2] }))).toEqual({ acked: 2 });
    stats = unwrap(await topic.getSubscription("work")).stats;
    expect(stats).toMatchObject({ ackFloor: 4, inFlight: 0, backlog: 0, acked: 3 });
    expect(await sqlIn(name, "SELECT * FROM leases")).toEqual([]);
  });

  it("redelivers after the lease runs out, counting attempts, with backoff", async () => {
    const { name, topic } = await setup({ backoff: { min: 60_000, max: 60_000 } });
    unwrap(await topic.publish([text("a")]));
    unwrap(await topic.pull("work", { max: 1, wait: 0 }));
    await expireLeases(name);
    expect(await runDurableObjectAlarm(topic)).toBe(true);
    // Backed off: not yet available.
    expect(unwrap(await topic.pull("work", { max: 1, wait: 0 })).messages).toEqual([]);
    const [retry] = await sqlIn<{ available_at: number }>(name, "SELECT available_at FROM retries");
    expect(retry?.available_at).toBeGreaterThanOrEqual(Date.now() + 59_000);
    await dueRetries(name);
    const again = unwrap(await topic.pull("work", { max: 1, wait: 0 })).messages;
    expect(again.map((m) => [m.seq, m.attempt])).toEqual([[1, 2]]);
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ delivered: 2, redelivered: 1 });
  });

  it("nack with a delay makes the message available after that delay", async () => {
    const { topic } = await setup();
    unwrap(await topic.publish([text("a")]));
    unwrap(await topic.pull("work", { max: 1, wait: 0 }));
    expect(unwrap(await topic.nack("work", { seqs: [1], delay: 0 }))).toEqual({ nacked: 1 });
    const again = unwrap(await topic.pull("work", { max: 1, wait: 0 })).messages;
    expect(again.map((m) => m.attempt)).toEqual([2]);
    expect(unwrap(await topic.nack("work", { seqs: [1], delay: 3_600_000 }))).toEqual({ nacked: 1 });
    expect(unwrap(await topic.pull("work", { max: 1, wait: 0 })).messages).toEqual([]);
  });

  it("extend keeps a message leased past its ack timeout", async () => {
    const { name, topic } = await setup({ ackTimeout: 1_000 });
    unwrap(await topic.publish([text("a")]));
    unwrap(await topic.pull("work", { max: 1, wait: 0 }));
    expect(unwrap(await topic.extend("work", { seqs: [1], ackTimeout: 600_000 }))).toEqual({ extended: 1 });
    const [lease] = await sqlIn<{ expires_at: number }>(name, "SELECT expires_at FROM leases");
    expect(lease?.expires_at).toBeGreaterThan(Date.now() + 500_000);
    expect(unwrap(await topic.extend("work", { seqs: [99], ackTimeout: 600_000 }))).toEqual({ extended: 0 });
  });

  it("moves a message out of attempts to the dead-letter topic exactly once", async () => {
    const { name, topic } = await setup({ maxAttempts: 2, deadLetterTopic: `${freshTopic("dlq")}` });
    const dlqName = unwrap(await topic.getSubscription("work")).config.deadLetterTopic as string;
    unwrap(await topic.publish([text("poison", { attributes: { kind: "x" } })]));
    for (let attempt = 1; attempt <= 2; attempt++) {
      const got = unwrap(await topic.pull("work", { max: 1, wait: 0 })).messages;
      expect(got.map((m) => m.attempt)).toEqual([attempt]);
      unwrap(await topic.nack("work", { seqs: [1], delay: 0 }));
    }
    expect(await sqlIn(name, "SELECT seq FROM dead_letters")).toEqual([{ seq: 1 }]);
    expect(await runDurableObjectAlarm(topic)).toBe(true);
    // As if the run crashed after the copy but before forgetting the row: alarms
    // are at-least-once, and the next run must not make a second copy.
    await sqlIn(name, "INSERT INTO dead_letters (subscription, seq) VALUES ('work', 1)");
    await runInDurableObject(topic, (instance: Topic) => instance.alarm());
    const copies = unwrap(await topicStub(dlqName).read({ limit: 10, wait: 0 })).messages;
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatchObject({
      data: "poison",
      attributes: {
        kind: "x",
        "dead-letter.topic": name,
        "dead-letter.subscription": "work",
        "dead-letter.seq": "1",
      },
    });
    // Counted once, when the message ran out of attempts: the repeated copy counts nothing.
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ deadLettered: 1, backlog: 0 });
    expect(unwrap(await topic.pull("work", { max: 1, wait: 0 })).messages).toEqual([]);
  });

  it("drops a message out of attempts when there is no dead-letter topic, and counts it", async () => {
    const { topic } = await setup({ maxAttempts: 1 });
    unwrap(await topic.publish([text("a")]));
    unwrap(await topic.pull("work", { max: 1, wait: 0 }));
    unwrap(await topic.nack("work", { seqs: [1], delay: 0 }));
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({
      discarded: 1,
      backlog: 0,
      ackFloor: 2,
    });
  });

  it("keeps delayed messages invisible to subscriptions until they are due", async () => {
    const { name, topic } = await setup();
    unwrap(await topic.publish([text("later", { delay: 60_000 }), text("now")]));
    const first = unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages;
    expect(first.map((m) => m.data)).toEqual(["now"]);
    await dueRetries(name);
    const due = unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages;
    expect(due.map((m) => [m.data, m.attempt])).toEqual([["later", 1]]);
  });

  it("delivers only messages whose attributes match the filter", async () => {
    const { topic } = await setup({ filter: { attributes: { region: "eu" } } });
    unwrap(
      await topic.publish([
        text("us", { attributes: { region: "us" } }),
        text("eu", { attributes: { region: "eu", x: "1" } }),
      ]),
    );
    const got = unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages;
    expect(got.map((m) => m.data)).toEqual(["eu"]);
  });

  it("counts in its backlog only the messages its filter lets through", async () => {
    const { topic } = await setup({ filter: { attributes: { region: "eu" } } });
    const us = Array.from({ length: 5 }, () => text("us", { attributes: { region: "us" } }));
    unwrap(await topic.publish(us));
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ backlog: 0 });
    unwrap(await topic.publish([text("eu", { attributes: { region: "eu" } }), ...us]));
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ backlog: 1 });
    const got = unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages;
    expect(got.map((m) => m.seq)).toEqual([6]);
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ backlog: 1, inFlight: 1 });
    unwrap(await topic.ack("work", { seqs: [6] }));
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ backlog: 0, inFlight: 0 });
  });

  it("ordered delivery keeps one message in flight per key and FIFO within a key", async () => {
    const { topic } = await setup({ ordered: true });
    unwrap(
      await topic.publish([
        text("a1", { key: "a" }),
        text("a2", { key: "a" }),
        text("b1", { key: "b" }),
        text("a3", { key: "a" }),
        text("b2", { key: "b" }),
      ]),
    );
    const first = unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages;
    expect(first.map((m) => m.data)).toEqual(["a1", "b1"]);
    expect(unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages).toEqual([]);
    unwrap(await topic.ack("work", { seqs: [1] }));
    expect(unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages.map((m) => m.data)).toEqual([
      "a2",
    ]);
    // A redelivery keeps its place: b1 comes back before b2.
    unwrap(await topic.nack("work", { seqs: [3], delay: 0 }));
    expect(unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages.map((m) => m.data)).toEqual([
      "b1",
    ]);
    unwrap(await topic.ack("work", { seqs: [2, 3] }));
    expect(unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages.map((m) => m.data)).toEqual([
      "a3",
      "b2",
    ]);
  });

  it("seek moves the cursor to earliest, latest, a seq or a time", async () => {
    const { topic } = await setup();
    unwrap(await topic.publish([text("a"), text("b"), text("c")]));
    unwrap(await topic.pull("work", { max: 10, wait: 0 }));
    expect(unwrap(await topic.seek("work", "earliest"))).toEqual({ cursor: 1 });
    expect(unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages.map((m) => m.seq)).toEqual([
      1, 2, 3,
    ]);
    expect(unwrap(await topic.seek("work", 3))).toEqual({ cursor: 3 });
    expect(unwrap(await topic.pull("work", { max: 10, wait: 0 })).messages.map((m) => m.seq)).toEqual([3]);
    expect(unwrap(await topic.seek("work", "latest"))).toEqual({ cursor: 4 });
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ backlog: 0, inFlight: 0 });
  });

  it("answers a long-poll pull as soon as a message is published", async () => {
    const { topic } = await setup();
    const waiting = topic.pull("work", { max: 5, wait: 10_000 });
    unwrap(await topic.publish([text("hello")]));
    expect(unwrap(await waiting).messages.map((m) => m.data)).toEqual(["hello"]);
  });

  it("keeps leases, attempts and cursors across an eviction", async () => {
    const { name, topic } = await setup();
    unwrap(await topic.publish([text("a"), text("b")]));
    unwrap(await topic.pull("work", { max: 1, wait: 0 }));
    await evictDurableObject(topic);
    expect(unwrap(await topic.pull("work", { max: 5, wait: 0 })).messages.map((m) => m.seq)).toEqual([2]);
    await expireLeases(name);
    await runDurableObjectAlarm(topic);
    await dueRetries(name);
    await evictDurableObject(topic);
    const again = unwrap(await topic.pull("work", { max: 5, wait: 0 })).messages;
    expect(again.map((m) => [m.seq, m.attempt])).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });

  it("fans out: every subscription gets every message", async () => {
    const { topic } = await setup();
    unwrap(await topic.putSubscription("other", { startAt: "earliest" }));
    unwrap(await topic.publish([text("x")]));
    for (const sub of ["work", "other"]) {
      expect(unwrap(await topic.pull(sub, { max: 5, wait: 0 })).messages.map((m) => m.data)).toEqual(["x"]);
    }
  });

  it("updates config without moving the cursor and deletes a subscription", async () => {
    const { topic } = await setup();
    unwrap(await topic.publish([text("a")]));
    const updated = unwrap(await topic.putSubscription("work", { ackTimeout: 5_000, startAt: "latest" }));
    expect(updated.created).toBe(false);
    expect(updated.subscription.config.ackTimeout).toBe(5_000);
    expect(updated.subscription.stats.cursor).toBe(1);
    unwrap(await topic.deleteSubscription("work"));
    expect(await topic.getSubscription("work")).toMatchObject({ ok: false, code: "not_found" });
    expect(await topic.pull("work", { max: 1, wait: 0 })).toMatchObject({ ok: false, code: "not_found" });
  });
});

describe("the lease mirror", () => {
  it("agrees with SQLite after every kind of change: stats are the same before and after an eviction", async () => {
    const { topic } = await setup({ backoff: { min: 60_000, max: 60_000 } });
    unwrap(await topic.putSubscription("other", { startAt: "earliest" }));
    unwrap(await topic.publish(Array.from({ length: 12 }, (_, i) => text(`m${i}`))));
    const steps: (() => Promise<unknown>)[] = [
      () => topic.pull("work", { max: 5, wait: 0 }),
      () => topic.pull("other", { max: 3, wait: 0 }),
      () => topic.ack("work", { seqs: [1, 3] }),
      () => topic.nack("work", { seqs: [2], delay: 0 }),
      () => topic.extend("work", { seqs: [4, 5], ackTimeout: 600_000 }),
      () => topic.pull("work", { max: 4, wait: 0 }),
      () => topic.ack("work", { seqs: [2, 4, 6, 7] }),
      () => topic.seek("other", 2),
      () => topic.pull("other", { max: 2, wait: 0 }),
    ];
    for (const step of steps) {
      await step();
      const before = [
        unwrap(await topic.getSubscription("work")),
        unwrap(await topic.getSubscription("other")),
      ];
      await evictDurableObject(topic);
      const after = [
        unwrap(await topic.getSubscription("work")),
        unwrap(await topic.getSubscription("other")),
      ];
      expect(after.map((s) => s.stats)).toEqual(before.map((s) => s.stats));
    }
  });
});
