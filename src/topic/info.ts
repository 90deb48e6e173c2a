import type {
  RouteStats,
  SubscriptionFlow,
  SubscriptionInfo,
  TopicInfo,
  TopicUsage,
} from "../protocol/topic-rpc";
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
    flow: { publishRate: log.publishRate.perSecond(Date.now()) },
    usage,
  };
}

/** A subscription's config and stats, as `GET …/subscriptions/{sub}` shows them. */
export function subscriptionInfo(
  log: Log,
  delivery: Delivery,
  subscription: Subscription,
  live: { consumers: number; rates: { deliveryRate: number; ackRate: number } },
): SubscriptionInfo {
  const { backlog, inFlight } = delivery.backlog.stats(subscription);
  const ackFloor = delivery.backlog.ackFloor(subscription);
  const { counters } = subscription;
  return {
    name: subscription.name,
    topic: (log.meta as TopicMeta).name,
    createdAt: subscription.createdAt,
    config: subscription.config,
    stats: {
      backlog,
      inFlight,
      ackFloor,
      cursor: subscription.cursor,
      ...counters,
      consumers: live.consumers,
      deadLetterDepth: Math.max(0, counters.deadLettered - counters.redriven),
    },
    flow: { oldestUnackedAge: oldestUnackedAge(log, backlog, ackFloor, Date.now()), ...live.rates },
  };
}

/**
 * Ms since the oldest message not acked was published: the one at the ack floor (or, if
 * retention took it, the next one), read through the primary key. `null` when nothing waits.
 * For a filtered subscription it is the oldest unacked message at or after the floor, which the
 * filter may pass over: an upper bound, exact once the cursor has moved past what does not match.
 */
export function oldestUnackedAge(
  log: Log,
  backlog: number,
  ackFloor: number,
  now: number,
): SubscriptionFlow["oldestUnackedAge"] {
  if (backlog === 0) return null;
  const publishedAt = log.publishedAtFrom(ackFloor);
  return publishedAt === null ? null : Math.max(0, now - publishedAt);
}
