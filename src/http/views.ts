import type { SubscriptionInfo, TopicInfo } from "../protocol/topic-rpc";

/** A topic's info as a caller without `admin` on it sees it: no config, no usage. */
export type TopicView = TopicInfo | Omit<TopicInfo, "config" | "usage">;

/** A subscription's info as a caller without `admin` on its topic sees it: no config. */
export type SubscriptionView = SubscriptionInfo | Omit<SubscriptionInfo, "config">;

/**
 * What of a topic's info a caller sees: config and usage belong to those who may change the
 * topic (`admin`); stats to every reader. The object returns everything; the worker strips.
 *
 * @example
 * return c.json(topicView(info, can(principal, "admin", topic)));
 */
export function topicView(info: TopicInfo, admin: boolean): TopicView {
  if (admin) return info;
  const { config: _config, usage: _usage, ...view } = info;
  return view;
}

/**
 * What of a subscription's info a caller sees: its config (dead-letter topic, filter, retries)
 * only with `admin` on the topic, its stats with `subscribe`.
 *
 * @example
 * return c.json(subscriptionView(info, can(principal, "admin", topic)));
 */
export function subscriptionView(info: SubscriptionInfo, admin: boolean): SubscriptionView {
  if (admin) return info;
  const { config: _config, ...view } = info;
  return view;
}
