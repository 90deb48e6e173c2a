import type { RouteStats, SubscriptionInfo, TopicInfo, TopicUsage } from "../protocol/topic-rpc";
import type { Delivery } from "./delivery";
import type { Log, TopicMeta } from "./log";
import type { Subscription } from "./subscriptions";

/** A topic's config and stats, as `GET /v1/topics/{topic}` shows them. */
export function topicInfo(
  log: Log,
  live: {
    subscriptions: number;
    sockets: number;
    relays: { count: number; sockets: number };
    longPolls: number;
    routes: RouteStats[];
  },
  usage: TopicUsage,
): TopicInfo {
  const meta = log.meta as TopicMeta;
  const c = log.counters;
  return {
    name: meta.name,
    epoch: meta.epoch,
    createdAt: meta.createdAt,
    config: meta.config,
    stats: {
      messages: c.count,
      bytes: c.bytes,
      firstSeq: log.firstSeq(),
      lastSeq: c.nextSeq - 1,
      published: c.published,
      duplicates: c.duplicates,
      dropped: c.dropped,
      ...live,
    },
    usage,
  };
}

/** A subscription's config and stats, as `GET …/subscriptions/{sub}` shows them. */
export function subscriptionInfo(
  log: Log,
  delivery: Delivery,
  subscription: Subscription,
  consumers: number,
): SubscriptionInfo {
  return {
    name: subscription.name,
    topic: (log.meta as TopicMeta).name,
    createdAt: subscription.createdAt,
    config: subscription.config,
    stats: {
      ...delivery.backlog.stats(subscription),
      ackFloor: delivery.backlog.ackFloor(subscription),
      cursor: subscription.cursor,
      ...subscription.counters,
      consumers,
    },
  };
}
