import type { TopicMetrics } from "../protocol/topic-rpc";

/** Most subscription data points one run writes (Analytics Engine takes 250 per invocation). */
export const MAX_SUBSCRIPTION_POINTS = 100;

/** The counters a data point reports as "since the previous point". */
type Counted = [delivered: number, acked: number, deadLettered: number, pushFailures: number];

/** What the previous data points reported, so the next ones report what happened since. */
export interface AnalyticsBaseline {
  /** When those points were written, epoch ms. */
  at: number;
  published: number;
  subscriptions: Record<string, Counted>;
}

/** A data point as `writeDataPoint` takes it (the runtime's `AnalyticsEngineDataPoint`). */
export interface DataPoint {
  indexes: string[];
  blobs: string[];
  doubles: number[];
}

/**
 * The columns of both kinds of data point, in order (`double1` … and `blob1` …): README.md,
 * "Analytics Engine", documents them with example queries.
 */
export const DOUBLES = {
  topic: [
    "interval_s",
    "published",
    "delivered",
    "acked",
    "dead_lettered",
    "push_failures",
    "messages",
    "bytes",
    "backlog",
    "in_flight",
    "oldest_unacked_age_ms",
    "dead_letter_depth",
    "subscriptions",
    "sockets",
    "publish_rate",
  ],
  subscription: [
    "interval_s",
    "published",
    "delivered",
    "acked",
    "dead_lettered",
    "push_failures",
    "messages",
    "bytes",
    "backlog",
    "in_flight",
    "oldest_unacked_age_ms",
    "dead_letter_depth",
    "consumers",
    "push_consecutive_failures",
    "delivery_rate",
    "ack_rate",
  ],
} as const;

const counted = (stats: TopicMetrics["subscriptions"][number]["stats"]): Counted => [
  stats.delivered,
  stats.acked,
  stats.deadLettered,
  stats.push?.failures ?? 0,
];

/** What went up since the baseline; a counter that went down (a subscription made anew) counts from 0. */
const since = (now: Counted, before: Counted | undefined): Counted =>
  now.map((value, i) => {
    const previous = before?.[i] ?? 0;
    return value >= previous ? value - previous : value;
  }) as Counted;

/**
 * The data points of one interval: one for the topic (its counters summed over its
 * subscriptions), and one for each subscription that has a backlog or moved, the largest
 * backlogs first, at most {@link MAX_SUBSCRIPTION_POINTS}. Counters are what happened since the
 * baseline (since the topic was created, without one), and `interval_s` how long that was; the
 * rest is the state now. Returns the baseline for the next interval.
 *
 * @example
 * const { points, baseline } = dataPoints(metrics, previous, Date.now());
 * for (const point of points) env.ANALYTICS.writeDataPoint(point);
 */
export function dataPoints(
  metrics: TopicMetrics,
  previous: AnalyticsBaseline | null,
  now: number,
): { points: DataPoint[]; baseline: AnalyticsBaseline } {
  const { topic, subscriptions } = metrics;
  const name = topic.name;
  const intervalSeconds = Math.max(0, Math.round((now - (previous?.at ?? topic.createdAt)) / 1000));
  const baseline: AnalyticsBaseline = { at: now, published: topic.stats.published, subscriptions: {} };
  const before = previous?.published ?? 0;
  const published = topic.stats.published >= before ? topic.stats.published - before : topic.stats.published;
  const totals: Counted = [0, 0, 0, 0];
  let backlog = 0;
  let inFlight = 0;
  let depth = 0;
  let oldest = 0;
  const moved: { point: DataPoint; backlog: number }[] = [];
  for (const s of subscriptions) {
    const current = counted(s.stats);
    baseline.subscriptions[s.name] = current;
    const delta = since(current, previous?.subscriptions[s.name]);
    delta.forEach((value, i) => {
      totals[i] = (totals[i] as number) + value;
    });
    backlog += s.stats.backlog;
    inFlight += s.stats.inFlight;
    depth += s.stats.deadLetterDepth;
    oldest = Math.max(oldest, s.flow.oldestUnackedAge ?? 0);
    if (s.stats.backlog === 0 && delta.every((value) => value === 0)) continue;
    moved.push({
      backlog: s.stats.backlog,
      point: {
        indexes: [name],
        blobs: ["subscription", name, s.name],
        doubles: [
          intervalSeconds,
          0,
          ...delta,
          0,
          0,
          s.stats.backlog,
          s.stats.inFlight,
          s.flow.oldestUnackedAge ?? 0,
          s.stats.deadLetterDepth,
          s.stats.consumers,
          s.stats.push?.consecutiveFailures ?? 0,
          s.flow.deliveryRate,
          s.flow.ackRate,
        ],
      },
    });
  }
  const topicPoint: DataPoint = {
    indexes: [name],
    blobs: ["topic", name, ""],
    doubles: [
      intervalSeconds,
      published,
      ...totals,
      topic.stats.messages,
      topic.stats.bytes,
      backlog,
      inFlight,
      oldest,
      depth,
      topic.stats.subscriptions,
      topic.stats.sockets,
      topic.flow.publishRate,
    ],
  };
  moved.sort((a, b) => b.backlog - a.backlog);
  const points = [topicPoint, ...moved.slice(0, MAX_SUBSCRIPTION_POINTS).map((m) => m.point)];
  return { points, baseline };
}
