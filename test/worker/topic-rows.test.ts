/**
 * Where the rows written per message go, step by step, for one subscription at one message a
 * time — the load of a small app, and the one Cloudflare bills most for (rows written cost
 * $1.00 a million). Each figure is a bound the code must not exceed; docs/benchmarks.md
 * ("Where the rows go") explains each row and which of them a crash needs.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expireLeases, freshTopic, text, topicStub, unwrap } from "./helpers";

async function rowsWritten(name: string, step: () => Promise<unknown>): Promise<number> {
  const usage = async () => unwrap(await topicStub(name).info()).usage.rowsWritten;
  const before = await usage();
  await step();
  return (await usage()) - before;
}

describe("rows written per step, one message at a time", () => {
  it("publish 2, pull 2, ack 2, nack 4, redelivery 4; a batch of 100 about 1 each", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("s", { startAt: "earliest", ackTimeout: 60_000 }));
    unwrap(await topic.publish([text("warm-up")]));
    const warm = unwrap(await topic.pull("s", { max: 1, wait: 0 })).messages;
    unwrap(await topic.ack("s", { seqs: warm.map((m) => m.seq) }));

    const rows: Record<string, number> = {};
    rows.publish = await rowsWritten(name, () => topic.publish([text("a")]));
    let seq = 0;
    rows.pull = await rowsWritten(name, async () => {
      seq = unwrap(await topic.pull("s", { max: 1, wait: 0 })).messages[0]?.seq ?? 0;
    });
    rows.ack = await rowsWritten(name, () => topic.ack("s", { seqs: [seq] }));

    unwrap(await topic.publish([text("b")]));
    const [b] = unwrap(await topic.pull("s", { max: 1, wait: 0 })).messages;
    rows.nack = await rowsWritten(name, () => topic.nack("s", { seqs: [b?.seq ?? 0], delay: 0 }));
    rows.redelivery = await rowsWritten(name, () => topic.pull("s", { max: 1, wait: 0 }));
    // Expiring the leases evicts the object (its usage counters start again): measure the alarm.
    await expireLeases(name);
    rows.leaseExpiry = await rowsWritten(name, () => runDurableObjectAlarm(topic));
    rows.batchOf100 =
      (await rowsWritten(name, () => topic.publish(Array.from({ length: 100 }, (_, i) => text(`m${i}`))))) /
      100;
    console.log("rows written per step:", rows);

    expect(rows.publish).toBeLessThanOrEqual(2);
    expect(rows.pull).toBeLessThanOrEqual(2);
    expect(rows.ack).toBeLessThanOrEqual(2);
    expect(rows.nack).toBeLessThanOrEqual(4);
    expect(rows.redelivery).toBeLessThanOrEqual(4);
    expect(rows.leaseExpiry).toBeLessThanOrEqual(4);
    expect(rows.batchOf100).toBeLessThanOrEqual(1.05);
  });
});
