import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/protocol/limits";
import { freshTopic, text, topicStub, unwrap } from "./helpers";
import { countMessages, openSocket } from "./ws-helpers";

const MIB = 1024 * 1024;
/** A text body of exactly 1 MiB, the largest a message may be. */
const big = (i: number) => text(`${String(i).padStart(4, "0")}${"x".repeat(MIB - 4)}`);

/** Publishes `n` messages of 1 MiB, a few per call (an RPC argument is bounded too). */
async function publishBig(topic: ReturnType<typeof topicStub>, n: number) {
  for (let i = 0; i < n; i += 4) {
    unwrap(await topic.publish(Array.from({ length: Math.min(4, n - i) }, (_, j) => big(i + j))));
  }
}

const perPage = LIMITS.pageBytes / MIB;

describe("messages of the largest size", () => {
  it("are read a page of bytes at a time, every one of them, in order", async () => {
    const topic = topicStub(freshTopic());
    await publishBig(topic, 10);
    const seen: number[] = [];
    for (let after = 0, pages = 0; pages < 20; pages++) {
      const page = unwrap(await topic.read({ after, limit: 1_000, wait: 0 }));
      if (page.messages.length === 0) break;
      expect(page.messages.length).toBeLessThanOrEqual(perPage);
      seen.push(...page.messages.map((m) => m.seq));
      after = page.next;
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it("are pulled a page of bytes at a time, and only what is answered is leased", async () => {
    const topic = topicStub(freshTopic());
    unwrap(await topic.putSubscription("work", { startAt: "earliest", maxAttempts: 2 }));
    await publishBig(topic, 10);
    const first = unwrap(await topic.pull("work", { max: 1_000, wait: 0 })).messages;
    expect(first).toHaveLength(perPage);
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({
      inFlight: perPage,
      backlog: 10,
      discarded: 0,
    });
    const received = new Set(first.map((m) => m.seq));
    for (let round = 0; round < 10; round++) {
      const pulled = unwrap(await topic.pull("work", { max: 1_000, wait: 0 })).messages;
      if (pulled.length === 0) break;
      for (const m of pulled) received.add(m.seq);
    }
    expect(received.size).toBe(10);
    // Nothing ran out of attempts without being received: every message was delivered once.
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ inFlight: 10, discarded: 0 });
  });

  it("are pushed to a consumer socket one frame per message of the largest size", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("work", { startAt: "earliest" }));
    await publishBig(topic, 5);
    const socket = await openSocket(name, { subscription: "work" });
    await socket.until(countMessages(5), 20_000);
    const frames = socket.frames.filter((f) => f.type === "message" || f.type === "messages");
    expect(frames).toHaveLength(5);
    expect(socket.messages().map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    socket.ws.close(1000);
  });

  it("are copied to a dead-letter topic in batches bounded in bytes", async () => {
    const topic = topicStub(freshTopic());
    const dlq = freshTopic("dlq");
    unwrap(
      await topic.putSubscription("work", { startAt: "earliest", maxAttempts: 1, deadLetterTopic: dlq }),
    );
    await publishBig(topic, 6);
    for (let round = 0; round < 5; round++) {
      const pulled = unwrap(await topic.pull("work", { max: 1_000, wait: 0 })).messages;
      if (pulled.length === 0) break;
      unwrap(await topic.nack("work", { seqs: pulled.map((m) => m.seq), delay: 0 }));
    }
    for (let run = 0; run < 4; run++) await runDurableObjectAlarm(topic);
    const copies = unwrap(await topicStub(dlq).read({ after: 0, limit: 1_000, wait: 0 })).messages;
    const more = unwrap(await topicStub(dlq).read({ after: copies.at(-1)?.seq ?? 0, limit: 1_000, wait: 0 }));
    expect(copies.length + more.messages.length).toBe(6);
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ deadLettered: 6, backlog: 0 });
  });
});
