import type { TopicStore } from "./store";
import type { Subscription } from "./subscriptions";

/**
 * Acks at once everything a subscription has not acked among the messages published so far —
 * in flight, waiting for a retry or for their delay, waiting for a dead-letter copy, never
 * delivered — by moving its cursor to the head (as `seek latest` does), and counts them as
 * `purged`. Dead-letter copies not yet made are not made: those messages count as purged, not
 * as dead-lettered. Run inside a transaction; returns how many were purged.
 */
export function purge(store: TopicStore, subscription: Subscription): number {
  const { delivery, log } = store;
  const { backlog } = delivery.backlog.stats(subscription);
  const waitingCopies = delivery.deadLetters.count(subscription.name);
  delivery.seek(subscription, log.counters.nextSeq);
  subscription.counters.deadLettered -= waitingCopies;
  subscription.counters.purged += backlog;
  store.subscriptions.save(subscription);
  return backlog;
}
