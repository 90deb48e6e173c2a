import { describe, expect, it } from "vitest";
import type { TopicMetrics } from "../../src/protocol/topic-rpc";
import { DOUBLES, dataPoints, MAX_SUBSCRIPTION_POINTS } from "../../src/topic/analytics-points";

type Sub = TopicMetrics["subscriptions"][number];

function subscription(name: string, stats: Partial<Sub["stats"]> = {}, age: number | null = null): Sub {
  return {
    name,
    topic: "orders",
    createdAt: 0,
    stats: {
      backlog: 0,
      inFlight: 0,
      ackFloor: 1,
      cursor: 1,
      delivered: 0,
      redelivered: 0,
      acked: 0,
      nacked: 0,
      deadLettered: 0,
      discarded: 0,
      expired: 0,
      purged: 0,
      redriven: 0,
      consumers: 0,
      deadLetterDepth: 0,
      ...stats,
    },
    flow: { oldestUnackedAge: age, deliveryRate: 0.5, ackRate: 0.25 },
  };
}

function metrics(published: number, subscriptions: Sub[]): TopicMetrics {
  return {
    topic: {
      name: "orders",
      epoch: "e",
      createdAt: 1_000,
      stats: {
        messages: 7,
        bytes: 70,
        firstSeq: 1,
        lastSeq: 7,
        published,
        duplicates: 0,
        dropped: 0,
        subscriptions: subscriptions.length,
        sockets: 3,
        relays: { count: 0, sockets: 0 },
        longPolls: 0,
        routes: [],
      },
      flow: { publishRate: 1.5 },
      usage: { requests: 0, rowsRead: 0, rowsWritten: 0, statements: 0, since: 0 },
    },
    subscriptions,
  };
}

const column = (point: { blobs: string[]; doubles: number[] }, name: string) =>
  point.doubles[(DOUBLES[point.blobs[0] as keyof typeof DOUBLES] as readonly string[]).indexOf(name)];

describe("Analytics Engine data points", () => {
  it("fit a data point: at most 20 doubles, 20 blobs and one index of at most 96 bytes", () => {
    const { points } = dataPoints(metrics(5, [subscription("a", { backlog: 2 })]), null, 61_000);
    for (const point of points) {
      expect(point.doubles.length).toBeLessThanOrEqual(20);
      expect(point.blobs.length).toBeLessThanOrEqual(20);
      expect(point.indexes).toEqual(["orders"]);
      expect(point.doubles).toHaveLength(DOUBLES[point.blobs[0] as keyof typeof DOUBLES].length);
    }
  });

  it("count from the topic's creation the first time, then what happened since the last round", () => {
    const first = dataPoints(
      metrics(5, [subscription("a", { delivered: 4, acked: 3, backlog: 2 })]),
      null,
      61_000,
    );
    const [topic] = first.points;
    expect(column(topic as never, "interval_s")).toBe(60);
    expect(column(topic as never, "published")).toBe(5);
    expect(column(topic as never, "delivered")).toBe(4);
    const second = dataPoints(
      metrics(9, [subscription("a", { delivered: 10, acked: 8, backlog: 1 })]),
      first.baseline,
      121_000,
    );
    expect(
      second.points.map((p) => [column(p, "published"), column(p, "delivered"), column(p, "acked")]),
    ).toEqual([
      [4, 6, 5],
      [0, 6, 5],
    ]);
    expect(column(second.points[0] as never, "interval_s")).toBe(60);
    expect(column(second.points[1] as never, "delivery_rate")).toBe(0.5);
  });

  it("count a subscription made anew (its counters went down) from 0", () => {
    const first = dataPoints(metrics(0, [subscription("a", { delivered: 50 })]), null, 2_000);
    const again = dataPoints(metrics(0, [subscription("a", { delivered: 3 })]), first.baseline, 3_000);
    expect(column(again.points[0] as never, "delivered")).toBe(3);
  });

  it("sum the subscriptions into the topic's point, and the oldest age is the largest", () => {
    const { points } = dataPoints(
      metrics(0, [
        subscription("a", { backlog: 2, inFlight: 1, deadLetterDepth: 1 }, 5_000),
        subscription("b", { backlog: 3, deadLetterDepth: 2 }, 9_000),
      ]),
      null,
      2_000,
    );
    const topic = points[0] as never;
    expect([
      column(topic, "backlog"),
      column(topic, "in_flight"),
      column(topic, "dead_letter_depth"),
    ]).toEqual([5, 1, 3]);
    expect(column(topic, "oldest_unacked_age_ms")).toBe(9_000);
  });

  it(`write a point for each subscription that moved or has a backlog, the largest backlogs first, at most ${MAX_SUBSCRIPTION_POINTS}`, () => {
    const subscriptions = Array.from({ length: 150 }, (_, i) => subscription(`s${i}`, { backlog: i }));
    subscriptions.push(subscription("quiet"));
    const { points } = dataPoints(metrics(0, subscriptions), null, 2_000);
    expect(points).toHaveLength(1 + MAX_SUBSCRIPTION_POINTS);
    expect(points[1]?.blobs).toEqual(["subscription", "orders", "s149"]);
    expect(points.some((p) => p.blobs[2] === "quiet")).toBe(false);
    expect(points.some((p) => p.blobs[2] === "s0")).toBe(false);
  });
});
