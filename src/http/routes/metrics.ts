import { Hono } from "hono";
import { patternsWith } from "../../auth/capabilities";
import { METRICS_LIMITS, metricsQuerySchema } from "../../protocol/metrics-query";
import { REGISTRY_NAME, type TopicListQuery } from "../../protocol/registry";
import type { TopicMetrics } from "../../protocol/topic-rpc";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, ProblemError } from "../errors";
import { queryInput } from "../input";
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from "../prometheus";
import { callTopic } from "../topic-call";

/** Topics asked at once: a page is read a few objects at a time, not all at once. */
const CONCURRENCY = 6;

/** `GET /v1/metrics`: a page of topics in the Prometheus text format (README.md, "Operate"). */
export const metricsRoutes = new Hono<BrokerEnv>();

/**
 * The topics under `prefix` on which the credential holds `admin`, a page at a time (at most
 * 100 topics, and no topic past 5,000 subscriptions), each asked for its numbers in one call:
 * one scrape never wakes more than a page of objects. A next page is named by `Link: <…>;
 * rel="next"`. A topic deleted since it was listed is left out.
 */
metricsRoutes.get("/", async (c) => {
  const patterns = patternsWith(c.get("principal"), "admin");
  if (patterns !== null && patterns.length === 0) {
    throw new ProblemError("forbidden", 'this credential lacks "admin" on every topic');
  }
  const { prefix, cursor, limit } = queryInput(c, metricsQuerySchema);
  const query: TopicListQuery = { limit };
  if (prefix) query.prefix = prefix;
  if (cursor) query.cursor = cursor;
  if (patterns !== null) query.visibleTo = patterns;
  const page = await c.env.REGISTRY.getByName(REGISTRY_NAME).list(query);

  const topics: TopicMetrics[] = [];
  let next = page.cursor;
  let subscriptions = 0;
  let last: string | null = null;
  read: for (let i = 0; i < page.topics.length; i += CONCURRENCY) {
    const names = page.topics.slice(i, i + CONCURRENCY).map((t) => t.name);
    const answers = await Promise.all(names.map((name) => callTopic(c.env, name, (t) => t.metrics())));
    for (const [j, answer] of answers.entries()) {
      if (subscriptions >= METRICS_LIMITS.subscriptions) {
        // The page is full of subscriptions: the rest of the topics are the next page's.
        next = last;
        break read;
      }
      last = names[j] as string;
      if (!answer.ok) continue;
      topics.push(answer.value as unknown as TopicMetrics);
      subscriptions += answer.value.subscriptions.length;
    }
  }
  if (next !== null) {
    const link = new URLSearchParams({ ...(prefix ? { prefix } : {}), cursor: next, limit: String(limit) });
    c.header("Link", `</v1/metrics?${link}>; rel="next"`);
  }
  return c.body(prometheusText(topics), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
});
metricsRoutes.all("/", methodNotAllowed("GET"));
