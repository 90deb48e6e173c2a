import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshTopic, sqlIn, text, topicStub, unwrap } from "./helpers";

const usage = async (name: string) => unwrap(await topicStub(name).info()).usage;

describe("subscription stats", () => {
  it("are kept, not recounted: listing many subscriptions over a long backlog reads few rows", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    const subscriptions = 100;
    for (let i = 0; i < subscriptions; i++) {
      unwrap(await topic.putSubscription(`s${i}`, { startAt: "earliest" }));
    }
    for (let batch = 0; batch < 5; batch++) {
      unwrap(await topic.publish(Array.from({ length: 1_000 }, (_, i) => text(`m${batch}-${i}`))));
    }
    unwrap(await topic.pull("s0", { max: 10, wait: 0 }));
    unwrap(await topic.nack("s1", { seqs: [1], delay: 0 }));
    const before = await usage(name);
    const listed = unwrap(await topic.listSubscriptions()).subscriptions;
    const after = await usage(name);
    expect(listed).toHaveLength(subscriptions);
    expect(listed.find((s) => s.name === "s0")?.stats).toMatchObject({ backlog: 5_000, inFlight: 10 });
    expect(listed.find((s) => s.name === "s9")?.stats).toMatchObject({ backlog: 5_000, inFlight: 0 });
    // Counting the backlog message by message would read 100 × 5,000 rows.
    expect(after.rowsRead - before.rowsRead).toBeLessThan(10 * subscriptions);
  });

  it("count a filtered subscription's backlog once, then keep it as messages come and go", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(
      await topic.putSubscription("eu", { startAt: "earliest", filter: { attributes: { region: "eu" } } }),
    );
    const mixed = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        text(`m${i}`, { attributes: { region: i % 4 === 0 ? "eu" : "us" } }),
      );
    unwrap(await topic.publish(mixed(2_000)));
    expect(unwrap(await topic.getSubscription("eu")).stats.backlog).toBe(500);
    unwrap(await topic.publish(mixed(8)));
    const pulled = unwrap(await topic.pull("eu", { max: 10, wait: 0 })).messages;
    expect(pulled).toHaveLength(10);
    unwrap(await topic.ack("eu", { seqs: pulled.map((m) => m.seq) }));
    const before = await usage(name);
    const stats = unwrap(await topic.getSubscription("eu")).stats;
    expect(stats.backlog).toBe(500 + 2 - 10);
    // Kept through the publish, the delivery and the ack: no message is looked at again.
    expect((await usage(name)).rowsRead - before.rowsRead).toBeLessThan(20);
    // After a seek it counts again, from the new cursor.
    unwrap(await topic.seek("eu", "earliest"));
    expect(unwrap(await topic.getSubscription("eu")).stats.backlog).toBe(502);
  });
});

describe("flow: what people alert on", () => {
  it("oldestUnackedAge is the age of the message at the ack floor, read in one row, and null when none waits", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("s", { startAt: "earliest" }));
    expect(unwrap(await topic.getSubscription("s")).flow.oldestUnackedAge).toBeNull();
    unwrap(await topic.publish(Array.from({ length: 1_000 }, (_, i) => text(`m${i}`))));
    // Published ten minutes ago, as far as the log says.
    await sqlIn(name, "UPDATE messages SET published_at = published_at - 600000");
    const pulled = unwrap(await topic.pull("s", { max: 5, wait: 0 })).messages;
    unwrap(await topic.ack("s", { seqs: pulled.slice(1).map((m) => m.seq) }));
    const before = await usage(name);
    const info = unwrap(await topic.getSubscription("s"));
    const read = (await usage(name)).rowsRead - before.rowsRead;
    // seq 1 is still leased: the floor, and ten minutes old.
    expect(info.stats.ackFloor).toBe(1);
    expect(info.flow.oldestUnackedAge).toBeGreaterThanOrEqual(600_000);
    expect(info.flow.oldestUnackedAge).toBeLessThan(660_000);
    expect(read).toBeLessThan(10);
    unwrap(await topic.ack("s", { seqs: [1] }));
    unwrap(await topic.seek("s", "latest"));
    expect(unwrap(await topic.getSubscription("s")).flow.oldestUnackedAge).toBeNull();
  });

  it("listing many subscriptions with a backlog still reads few rows, oldest ages included", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    for (let i = 0; i < 100; i++) unwrap(await topic.putSubscription(`s${i}`, { startAt: "earliest" }));
    unwrap(await topic.publish(Array.from({ length: 1_000 }, (_, i) => text(`m${i}`))));
    const before = await usage(name);
    const listed = unwrap(await topic.listSubscriptions()).subscriptions;
    const after = await usage(name);
    expect(listed.every((s) => (s.flow.oldestUnackedAge ?? -1) >= 0)).toBe(true);
    // One row each for the age: never the backlog, message by message.
    expect(after.rowsRead - before.rowsRead).toBeLessThan(10 * 100);
  });

  it("publishRate, deliveryRate and ackRate follow the counters, and start again at 0 after a restart", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("s", { startAt: "earliest" }));
    unwrap(await topic.publish(Array.from({ length: 600 }, (_, i) => text(`m${i}`))));
    const pulled = unwrap(await topic.pull("s", { max: 300, wait: 0 })).messages;
    unwrap(await topic.ack("s", { seqs: pulled.slice(0, 120).map((m) => m.seq) }));
    const info = unwrap(await topic.info());
    const sub = unwrap(await topic.getSubscription("s"));
    // Within moments, a burst of n reads as about n / 60 per second (a one-minute average).
    expect(info.flow.publishRate).toBeGreaterThan(9);
    expect(info.flow.publishRate).toBeLessThanOrEqual(10);
    expect(sub.flow.deliveryRate).toBeGreaterThan(4.5);
    expect(sub.flow.deliveryRate).toBeLessThanOrEqual(5);
    expect(sub.flow.ackRate).toBeGreaterThan(1.8);
    expect(sub.flow.ackRate).toBeLessThanOrEqual(2);
    await evictDurableObject(topic);
    // Memory only: a restarted object measures afresh from the counters it reloads.
    expect(unwrap(await topic.info()).flow.publishRate).toBe(0);
    expect(unwrap(await topic.getSubscription("s")).flow).toMatchObject({ deliveryRate: 0, ackRate: 0 });
    unwrap(await topic.publish([text("one more")]));
    expect(unwrap(await topic.info()).flow.publishRate).toBeGreaterThan(0);
  });

  it("deadLetterDepth counts dead letters until a redrive gives them back", async () => {
    const name = freshTopic();
    const dead = freshTopic("dead");
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("s", { startAt: "earliest", maxAttempts: 1, deadLetterTopic: dead }));
    unwrap(await topic.publish(Array.from({ length: 3 }, (_, i) => text(`m${i}`))));
    const pulled = unwrap(await topic.pull("s", { max: 3, wait: 0 })).messages;
    unwrap(await topic.nack("s", { seqs: pulled.map((m) => m.seq), delay: 0 }));
    await runDurableObjectAlarm(topic);
    expect(unwrap(await topic.getSubscription("s")).stats).toMatchObject({
      deadLettered: 3,
      deadLetterDepth: 3,
    });
    expect(unwrap(await topic.redrive("s"))).toMatchObject({ redriven: 3 });
    expect(unwrap(await topic.getSubscription("s")).stats).toMatchObject({ redriven: 3, deadLetterDepth: 0 });
  });
});
