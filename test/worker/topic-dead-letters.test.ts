import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshTopic, text, topicStub, unwrap } from "./helpers";

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
