import { describe, expect, it } from "vitest";
import { prometheusText } from "../../src/http/prometheus";
import type { TopicMetrics } from "../../src/protocol/topic-rpc";

const topic = (
  name: string,
  routes: TopicMetrics["topic"]["stats"]["routes"] = [],
): TopicMetrics["topic"] => ({
  name,
  epoch: "e",
  createdAt: 0,
  stats: {
    messages: 1,
    bytes: 2,
    firstSeq: 1,
    lastSeq: 1,
    published: 1,
    duplicates: 0,
    dropped: 0,
    subscriptions: 1,
    sockets: 0,
    relays: { count: 0, sockets: 0 },
    longPolls: 0,
    routes,
  },
  flow: { publishRate: 0 },
  usage: { requests: 0, rowsRead: 0, rowsWritten: 0, statements: 0, since: 0 },
});

const subscription = (name: string, push: boolean): TopicMetrics["subscriptions"][number] => ({
  name,
  topic: "t",
  createdAt: 0,
  stats: {
    backlog: 1,
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
    ...(push
      ? {
          push: {
            lastStatus: 500,
            lastError: "HTTP 500",
            lastErrorAt: 1,
            consecutiveFailures: 2,
            failures: 7,
          },
        }
      : {}),
  },
  flow: { oldestUnackedAge: 1_500, deliveryRate: 0, ackRate: 0 },
});

describe("the Prometheus text format", () => {
  it("writes each family once, HELP and TYPE first, then a sample per topic", () => {
    const text = prometheusText([
      { topic: topic("a"), subscriptions: [] },
      { topic: topic("b"), subscriptions: [] },
    ]);
    const lines = text.split("\n");
    const at = lines.indexOf("# HELP edge_broker_topic_messages Messages retained in the topic.");
    expect(lines.slice(at, at + 4)).toEqual([
      "# HELP edge_broker_topic_messages Messages retained in the topic.",
      "# TYPE edge_broker_topic_messages gauge",
      'edge_broker_topic_messages{topic="a"} 1',
      'edge_broker_topic_messages{topic="b"} 1',
    ]);
    expect(text.endsWith("\n")).toBe(true);
  });

  it("gives ages in seconds, and push metrics only for push subscriptions", () => {
    const text = prometheusText([
      { topic: topic("t"), subscriptions: [subscription("pull", false), subscription("hook", true)] },
    ]);
    expect(text).toContain(
      'edge_broker_subscription_oldest_unacked_age_seconds{topic="t",subscription="pull"} 1.5\n',
    );
    expect(text).toContain('edge_broker_subscription_push_failures_total{topic="t",subscription="hook"} 7\n');
    expect(text).not.toContain('push_failures_total{topic="t",subscription="pull"}');
  });

  it("labels routes by name, and escapes label values", () => {
    const route = {
      name: 'r"1\\',
      lag: 4,
      cursor: 1,
      forwarded: 2,
      filtered: 0,
      failed: 0,
      deadLettered: 0,
      looped: 0,
      attempts: 0,
      retryAt: null,
      lastError: null,
    };
    const text = prometheusText([{ topic: topic("t", [route]), subscriptions: [] }]);
    expect(text).toContain('edge_broker_route_lag{topic="t",route="r\\"1\\\\"} 4\n');
  });

  it("answers an empty page with the page's topic count alone", () => {
    expect(prometheusText([])).toBe(
      "# HELP edge_broker_metrics_topics Topics on this page of /v1/metrics.\n# TYPE edge_broker_metrics_topics gauge\nedge_broker_metrics_topics 0\n",
    );
  });
});
