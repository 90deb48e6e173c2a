import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BROKER_ATTRIBUTES, MAX_HOPS } from "../../src/protocol/attributes";
import { freshTopic, text, topicStub, unwrap } from "./helpers";
import { call, expectJson, expectProblem, topicExists } from "./http-support";

/** Runs a subscription's messages out of attempts: pull and nack each once (maxAttempts 1). */
async function exhaust(topic: ReturnType<typeof topicStub>, subscription: string) {
  const pulled = unwrap(await topic.pull(subscription, { max: 100, wait: 0 })).messages;
  unwrap(await topic.nack(subscription, { seqs: pulled.map((m) => m.seq), delay: 0 }));
  return pulled.length;
}

describe("dead letters", () => {
  it("of one subscription do not wait behind another's whose dead-letter topic refuses them", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    // A dead-letter topic that is full: one message kept, unacked by its own subscription.
    const full = freshTopic("full");
    unwrap(await topicStub(full).putConfig({ retention: { maxMessages: 1 } }));
    unwrap(await topicStub(full).putSubscription("hold", { startAt: "earliest" }));
    unwrap(await topicStub(full).publish([text("occupant")]));
    const healthy = freshTopic("healthy");
    // "a" sorts first: before, its stuck copies filled the batch and "b" never got a turn.
    unwrap(await topic.putSubscription("a", { startAt: "earliest", maxAttempts: 1, deadLetterTopic: full }));
    unwrap(
      await topic.putSubscription("b", { startAt: "earliest", maxAttempts: 1, deadLetterTopic: healthy }),
    );
    unwrap(await topic.publish(Array.from({ length: 150 }, (_, i) => text(`m${i}`))));
    for (const s of ["a", "b"]) while ((await exhaust(topic, s)) > 0);

    for (let run = 0; run < 3; run++) await runDurableObjectAlarm(topic);
    const copies = unwrap(await topicStub(healthy).read({ after: 0, limit: 1_000, wait: 0 })).messages;
    expect(copies).toHaveLength(150);
    const stats = async (s: string) => unwrap(await topic.getSubscription(s)).stats;
    expect(await stats("b")).toMatchObject({ deadLettered: 150, backlog: 0 });
    // "a" keeps its messages, waiting for room, and counts them as dead-lettered once.
    expect(await stats("a")).toMatchObject({ deadLettered: 150, backlog: 150 });
  });
});

describe("dead-letter loops", () => {
  const put = (topic: string, sub: string, deadLetterTopic: string) =>
    call("PUT", `/v1/topics/${topic}/subscriptions/${sub}`, { json: { deadLetterTopic, maxAttempts: 1 } });

  it("are refused when a subscription is configured, naming the way round", async () => {
    const [a, b, c] = [freshTopic("a"), freshTopic("b"), freshTopic("c")];
    await expectJson(await put(a, "s", b), 201);
    await expectJson(await put(b, "s", c), 201);
    const problem = await expectProblem(await put(c, "s", a), 400, "invalid_request");
    expect(problem.detail).toContain(`${c} → ${a} → ${b} → ${c}`);
    // Nothing was written: c was not even created.
    expect(await topicExists(c)).toBe(false);
    await expectJson(await put(c, "s", freshTopic("elsewhere")), 201);
  });

  it("end after MAX_HOPS copies where the check was bypassed (each copy counts its hops)", async () => {
    const [a, b] = [freshTopic("a"), freshTopic("b")];
    // Configured on the objects directly, as two PUTs racing each other could leave them.
    unwrap(
      await topicStub(a).putSubscription("s", { startAt: "earliest", maxAttempts: 1, deadLetterTopic: b }),
    );
    unwrap(
      await topicStub(b).putSubscription("s", { startAt: "earliest", maxAttempts: 1, deadLetterTopic: a }),
    );
    unwrap(await topicStub(a).publish([text("ping-pong")]));
    for (let round = 0; round < 3 * MAX_HOPS; round++) {
      for (const topic of [a, b]) {
        await exhaust(topicStub(topic), "s");
        await runDurableObjectAlarm(topicStub(topic));
      }
    }
    const copies = async (topic: string) =>
      unwrap(await topicStub(topic).read({ after: 0, limit: 100, wait: 0 })).messages;
    const all = [...(await copies(a)), ...(await copies(b))];
    // The original, then MAX_HOPS copies, each one hop deeper.
    expect(all).toHaveLength(1 + MAX_HOPS);
    const hops = all.map((m) => Number(m.attributes[BROKER_ATTRIBUTES.hops] ?? 0)).sort((x, y) => x - y);
    expect(hops).toEqual(Array.from({ length: MAX_HOPS + 1 }, (_, i) => i));
    const discarded = async (topic: string) =>
      unwrap(await topicStub(topic).getSubscription("s")).stats.discarded;
    expect((await discarded(a)) + (await discarded(b))).toBe(1);
  });
});
