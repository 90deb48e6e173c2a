import { describe, expect, it } from "vitest";
import { dueRetries, freshTopic, text, topicStub, unwrap } from "./helpers";
import { call, expectJson, expectProblem } from "./http-support";

type Pulled = { messages: { seq: number }[]; epoch: string };

const pull = async (topic: string, max = 10) =>
  expectJson<Pulled>(
    await call("POST", `/v1/topics/${topic}/subscriptions/work/pull`, { json: { max } }),
    200,
  );
const settle = (topic: string, verb: "ack" | "nack" | "extend", json: object) =>
  call("POST", `/v1/topics/${topic}/subscriptions/work/${verb}`, { json });

describe("settling messages", () => {
  it("is refused for an epoch that is over: a consumer of a deleted topic cannot ack the new topic's messages", async () => {
    const topic = freshTopic();
    const stub = topicStub(topic);
    unwrap(await stub.putSubscription("work", { startAt: "earliest" }));
    unwrap(await stub.publish([text("a"), text("b"), text("c")]));
    const old = await pull(topic);
    expect(old.messages.map((m) => m.seq)).toEqual([1, 2, 3]);

    unwrap(await stub.destroy());
    unwrap(await stub.putSubscription("work", { startAt: "earliest" }));
    unwrap(await stub.publish([text("x"), text("y"), text("z")]));
    const fresh = await pull(topic);
    expect(fresh.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(fresh.epoch).not.toBe(old.epoch);

    for (const verb of ["ack", "nack", "extend"] as const) {
      const problem = await expectProblem(
        await settle(topic, verb, { seqs: [1, 2, 3], epoch: old.epoch }),
        409,
        "conflict",
      );
      expect(problem.detail).toMatch(/deleted and re-created/);
    }
    expect(unwrap(await stub.getSubscription("work")).stats).toMatchObject({ inFlight: 3, acked: 0 });
    expect(
      await expectJson(await settle(topic, "ack", { seqs: [1, 2, 3], epoch: fresh.epoch }), 200),
    ).toEqual({
      acked: 3,
    });
  });

  it("counts only messages that were delivered and are not settled", async () => {
    const topic = freshTopic();
    const stub = topicStub(topic);
    unwrap(await stub.putSubscription("work", { startAt: "earliest", ordered: true }));
    // 1 and 2 share a key (2 is held back behind 1); 3 is delayed for an hour; 4 is deliverable.
    unwrap(
      await stub.publish([
        text("k1", { key: "k" }),
        text("k2", { key: "k" }),
        text("later", { key: "other", delay: 3_600_000 }),
        text("free", { key: "free" }),
      ]),
    );
    const pulled = await pull(topic);
    expect(pulled.messages.map((m) => m.seq)).toEqual([1, 4]);
    // 2 (held) and 3 (delayed) were never delivered; 99 does not exist.
    expect(unwrap(await stub.ack("work", { seqs: [2, 3, 99] }))).toEqual({ acked: 0 });
    expect(unwrap(await stub.ack("work", { seqs: [1, 2, 3, 4] }))).toEqual({ acked: 2 });
    expect(unwrap(await stub.ack("work", { seqs: [1, 4] }))).toEqual({ acked: 0 });
    // Released by the ack of 1, 2 is delivered now, and can be acked.
    expect((await pull(topic)).messages.map((m) => m.seq)).toEqual([2]);
    expect(unwrap(await stub.ack("work", { seqs: [2] }))).toEqual({ acked: 1 });
  });

  it("accepts a late ack of a message waiting to be delivered again", async () => {
    const topic = freshTopic();
    const stub = topicStub(topic);
    unwrap(await stub.putSubscription("work", { startAt: "earliest" }));
    unwrap(await stub.publish([text("a")]));
    await pull(topic);
    unwrap(await stub.nack("work", { seqs: [1], delay: 3_600_000 }));
    expect(unwrap(await stub.ack("work", { seqs: [1] }))).toEqual({ acked: 1 });
    await dueRetries(topic);
    expect((await pull(topic)).messages).toEqual([]);
  });
});

describe("moving a cursor past the head", () => {
  it("stops at the next seq, for seek and for startAt", async () => {
    const topic = freshTopic();
    const stub = topicStub(topic);
    unwrap(await stub.putSubscription("work", { startAt: "earliest" }));
    unwrap(await stub.publish([text("a"), text("b")]));
    expect(unwrap(await stub.seek("work", Number.MAX_SAFE_INTEGER))).toEqual({ cursor: 3 });
    unwrap(await stub.publish([text("c")]));
    expect((await pull(topic)).messages.map((m) => m.seq)).toEqual([3]);

    const created = unwrap(await stub.putSubscription("late", { startAt: { seq: 1_000_000 } }));
    expect(created.subscription.stats.cursor).toBe(4);
    unwrap(await stub.publish([text("d")]));
    expect(unwrap(await stub.pull("late", { max: 10, wait: 0 })).messages.map((m) => m.seq)).toEqual([4]);
  });
});
