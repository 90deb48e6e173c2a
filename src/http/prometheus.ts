import type { RouteStats, TopicMetrics } from "../protocol/topic-rpc";

type Topic = TopicMetrics["topic"];
type Subscription = TopicMetrics["subscriptions"][number];

/** One metric family: its name, type, help, and how each of its samples is read. */
interface Family<T> {
  name: string;
  type: "gauge" | "counter";
  help: string;
  /** The value of one sample, or `undefined` for none (a push metric of a pull subscription). */
  value: (item: T) => number | undefined;
}

const topicFamilies: Family<Topic>[] = [
  {
    name: "topic_messages",
    type: "gauge",
    help: "Messages retained in the topic.",
    value: (t) => t.stats.messages,
  },
  {
    name: "topic_bytes",
    type: "gauge",
    help: "Bytes of message bodies retained in the topic.",
    value: (t) => t.stats.bytes,
  },
  {
    name: "topic_published_total",
    type: "counter",
    help: "Messages published to the topic.",
    value: (t) => t.stats.published,
  },
  {
    name: "topic_duplicates_total",
    type: "counter",
    help: "Publishes answered as duplicates of an idempotency key or producer seq.",
    value: (t) => t.stats.duplicates,
  },
  {
    name: "topic_dropped_total",
    type: "counter",
    help: "Messages deleted by drop-oldest before every subscription acked them.",
    value: (t) => t.stats.dropped,
  },
  {
    name: "topic_subscriptions",
    type: "gauge",
    help: "Subscriptions of the topic.",
    value: (t) => t.stats.subscriptions,
  },
  {
    name: "topic_sockets",
    type: "gauge",
    help: "WebSockets open on the topic, its relays' included.",
    value: (t) => t.stats.sockets,
  },
  {
    name: "topic_long_polls",
    type: "gauge",
    help: "Log reads and pulls parked in a long-poll.",
    value: (t) => t.stats.longPolls,
  },
];

const subscriptionFamilies: Family<Subscription>[] = [
  {
    name: "subscription_backlog",
    type: "gauge",
    help: "Messages the subscription has not acked.",
    value: (s) => s.stats.backlog,
  },
  {
    name: "subscription_in_flight",
    type: "gauge",
    help: "Messages leased to consumers and not yet settled.",
    value: (s) => s.stats.inFlight,
  },
  {
    name: "subscription_oldest_unacked_age_seconds",
    type: "gauge",
    help: "Seconds since the oldest message the subscription has not acked was published; 0 when none waits.",
    value: (s) => (s.flow.oldestUnackedAge ?? 0) / 1000,
  },
  {
    name: "subscription_consumers",
    type: "gauge",
    help: "Consumers connected to the subscription.",
    value: (s) => s.stats.consumers,
  },
  {
    name: "subscription_dead_letter_depth",
    type: "gauge",
    help: "Dead letters of the subscription not given back by a redrive.",
    value: (s) => s.stats.deadLetterDepth,
  },
  {
    name: "subscription_delivered_total",
    type: "counter",
    help: "Deliveries, first and repeated.",
    value: (s) => s.stats.delivered,
  },
  {
    name: "subscription_redelivered_total",
    type: "counter",
    help: "Deliveries after the first.",
    value: (s) => s.stats.redelivered,
  },
  { name: "subscription_acked_total", type: "counter", help: "Messages acked.", value: (s) => s.stats.acked },
  {
    name: "subscription_nacked_total",
    type: "counter",
    help: "Messages nacked.",
    value: (s) => s.stats.nacked,
  },
  {
    name: "subscription_dead_lettered_total",
    type: "counter",
    help: "Messages out of attempts, copied to the dead-letter topic.",
    value: (s) => s.stats.deadLettered,
  },
  {
    name: "subscription_discarded_total",
    type: "counter",
    help: "Messages out of attempts with no dead-letter topic.",
    value: (s) => s.stats.discarded,
  },
  {
    name: "subscription_expired_total",
    type: "counter",
    help: "Messages whose time to live ran out before they were acked.",
    value: (s) => s.stats.expired,
  },
  {
    name: "subscription_purged_total",
    type: "counter",
    help: "Messages acked at once by a purge.",
    value: (s) => s.stats.purged,
  },
  {
    name: "subscription_redriven_total",
    type: "counter",
    help: "Dead letters given back by a redrive.",
    value: (s) => s.stats.redriven,
  },
  {
    name: "subscription_push_failures_total",
    type: "counter",
    help: "Push deliveries that failed.",
    value: (s) => s.stats.push?.failures,
  },
  {
    name: "subscription_push_consecutive_failures",
    type: "gauge",
    help: "Push deliveries that failed in a row; 0 after a success.",
    value: (s) => s.stats.push?.consecutiveFailures,
  },
];

const routeFamilies: Family<RouteStats>[] = [
  {
    name: "route_lag",
    type: "gauge",
    help: "Messages the route has not forwarded yet.",
    value: (r) => r.lag,
  },
  {
    name: "route_forwarded_total",
    type: "counter",
    help: "Messages the route forwarded.",
    value: (r) => r.forwarded,
  },
  {
    name: "route_filtered_total",
    type: "counter",
    help: "Messages the route's filter passed over.",
    value: (r) => r.filtered,
  },
  {
    name: "route_failed_total",
    type: "counter",
    help: "Messages given up with no dead-letter topic.",
    value: (r) => r.failed,
  },
  {
    name: "route_dead_lettered_total",
    type: "counter",
    help: "Messages given up and copied to the dead-letter topic.",
    value: (r) => r.deadLettered,
  },
  {
    name: "route_looped_total",
    type: "counter",
    help: "Copies not made because the message was too many copies deep.",
    value: (r) => r.looped,
  },
];

/** A label value as the text format writes it: backslash, double quote and newline escaped. */
const label = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

const labels = (pairs: Record<string, string>): string =>
  `{${Object.entries(pairs)
    .map(([name, value]) => `${name}="${label(value)}"`)
    .join(",")}}`;

/** Writes one family: `# HELP`, `# TYPE`, then a sample per item that has a value. */
function family<T>(out: string[], f: Family<T>, items: { item: T; labels: Record<string, string> }[]): void {
  const samples = items.flatMap(({ item, labels: pairs }) => {
    const value = f.value(item);
    return value === undefined ? [] : [`edge_broker_${f.name}${labels(pairs)} ${value}`];
  });
  if (samples.length === 0) return;
  out.push(`# HELP edge_broker_${f.name} ${f.help}`, `# TYPE edge_broker_${f.name} ${f.type}`, ...samples);
}

/**
 * A page of topics in the Prometheus text exposition format (version 0.0.4): one family per
 * number, labelled by `topic` (and `subscription` or `route`). Counters end in `_total`; ages are
 * in seconds. Rates are left to Prometheus (`rate(edge_broker_topic_published_total[5m])`).
 *
 * @example
 * return c.text(prometheusText(pages), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
 */
export function prometheusText(topics: TopicMetrics[]): string {
  const out: string[] = [];
  out.push(
    "# HELP edge_broker_metrics_topics Topics on this page of /v1/metrics.",
    "# TYPE edge_broker_metrics_topics gauge",
    `edge_broker_metrics_topics ${topics.length}`,
  );
  const topicItems = topics.map((m) => ({ item: m.topic, labels: { topic: m.topic.name } }));
  for (const f of topicFamilies) family(out, f, topicItems);
  const subscriptionItems = topics.flatMap((m) =>
    m.subscriptions.map((s) => ({ item: s, labels: { topic: m.topic.name, subscription: s.name } })),
  );
  for (const f of subscriptionFamilies) family(out, f, subscriptionItems);
  const routeItems = topics.flatMap((m) =>
    m.topic.stats.routes.map((r) => ({ item: r, labels: { topic: m.topic.name, route: r.name } })),
  );
  for (const f of routeFamilies) family(out, f, routeItems);
  return `${out.join("\n")}\n`;
}

/** The text format's media type. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
