import { describe, expect, it } from "vitest";
import { freshTopic, text, topicStub, unwrap } from "./helpers";

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
