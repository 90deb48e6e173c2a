import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DOUBLES } from "../../src/topic/analytics-points";
import type { Topic } from "../../src/topic/topic";
import { eventually, freshTopic, text, topicStub, unwrap } from "../worker/helpers";

interface Point {
  indexes: string[];
  blobs: string[];
  doubles: number[];
  refused?: string;
}

/** The recorder Worker bound as ANALYTICS (test/analytics/fixtures/analytics-recorder.mjs). */
const dataset = env.ANALYTICS as unknown as { points(topic: string): Promise<Point[]> };

/** A point's doubles by column name (README.md, "Analytics Engine"). */
function columns(point: Point): Record<string, number> {
  const kind = point.blobs[0] as keyof typeof DOUBLES;
  return Object.fromEntries(DOUBLES[kind].map((name, i) => [name, point.doubles[i] as number]));
}

const alarmOf = (name: string) =>
  runInDurableObject(topicStub(name), (_: Topic, state) => state.storage.getAlarm());

describe("Analytics Engine data points", () => {
  it("a topic with activity writes a round: the topic's point and one per subscription that moved", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("billing", { startAt: "earliest" }));
    unwrap(await topic.putSubscription("idle", { startAt: "latest" }));
    unwrap(await topic.publish([text("a"), text("b"), text("c")]));
    unwrap(await topic.deleteSubscription("idle"));
    unwrap(await topic.putSubscription("idle", { startAt: "latest" }));
    const pulled = unwrap(await topic.pull("billing", { max: 2, wait: 0 })).messages;
    unwrap(await topic.ack("billing", { seqs: [pulled[0]?.seq as number] }));
    expect(await alarmOf(name)).not.toBeNull();
    expect(await runDurableObjectAlarm(topic)).toBe(true);

    await eventually(async () => (await dataset.points(name)).length >= 2);
    const points = await dataset.points(name);
    expect(points.filter((p) => p.refused)).toEqual([]);
    expect(points.map((p) => p.blobs)).toEqual([
      ["topic", name, ""],
      ["subscription", name, "billing"],
    ]);
    expect(points.every((p) => p.indexes[0] === name)).toBe(true);
    expect(columns(points[0] as Point)).toMatchObject({
      published: 3,
      delivered: 2,
      acked: 1,
      messages: 3,
      backlog: 2,
      in_flight: 1,
      subscriptions: 2,
    });
    expect(columns(points[1] as Point)).toMatchObject({ delivered: 2, acked: 1, backlog: 2, in_flight: 1 });
    expect(columns(points[1] as Point).oldest_unacked_age_ms).toBeGreaterThanOrEqual(0);
  });

  it("writes at most one round a minute, then reports what happened since the last round", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("a")]));
    await runDurableObjectAlarm(topic);
    await eventually(async () => (await dataset.points(name)).length === 1);

    // More activity within the minute: the alarm runs, and writes nothing.
    unwrap(await topic.publish([text("b")]));
    await runDurableObjectAlarm(topic);
    unwrap(await topic.publish([text("c")]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await dataset.points(name)).toHaveLength(1);

    // Two minutes later (the last round's time moved back), across a restart of the object.
    await runInDurableObject(topic, (_: Topic, state) => {
      const baseline = state.storage.kv.get<{ at: number }>("analytics.baseline");
      state.storage.kv.put("analytics.baseline", { ...baseline, at: (baseline?.at ?? 0) - 120_000 });
    });
    await evictDurableObject(topic);
    unwrap(await topic.publish([text("d")]));
    expect(await runDurableObjectAlarm(topic)).toBe(true);
    await eventually(async () => (await dataset.points(name)).length === 2);
    const second = columns((await dataset.points(name))[1] as Point);
    // b, c and d: everything since the first round, none of it twice.
    expect(second).toMatchObject({ published: 3, messages: 4 });
    expect(second.interval_s).toBeGreaterThanOrEqual(120);
  });

  it("a topic with nothing going on writes nothing and arms no alarm for it", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("a")]));
    await runDurableObjectAlarm(topic);
    await eventually(async () => (await dataset.points(name)).length === 1);
    // Reads are no activity: the one alarm left is retention's, when the message is a week old.
    unwrap(await topic.info());
    unwrap(await topic.read({ limit: 10, wait: 0 }));
    const week = 7 * 86_400_000;
    expect(((await alarmOf(name)) ?? 0) - Date.now()).toBeGreaterThan(week - 60_000);
    expect(await dataset.points(name)).toHaveLength(1);
  });
});
