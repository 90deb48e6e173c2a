import type { Delivery } from "./delivery";
import type { Log } from "./log";

/** Retry a failed dead-letter copy or registry call after this long. */
export const RETRY_LATER_MS = 10_000;

/**
 * The one alarm of a topic, recomputed from SQL: the earliest of lease expiry,
 * retry or delayed message due, age retention, idempotency-key expiry, and
 * pending housekeeping (dead-letter copies, registration). `null` = no alarm.
 */
export function nextAlarm(
  log: Log,
  delivery: Delivery,
  pending: {
    deadLetters: boolean;
    registered: boolean;
    retryAt: number;
    now: number;
    socketExpiry: number | null;
  },
): number | null {
  if (!log.meta) return null;
  const times = [
    delivery.nextDue(),
    log.nextExpiry(delivery.protectedFrom()),
    log.nextKeyExpiry(),
    pending.socketExpiry,
  ];
  // Dead letters are copied at once; registration is already under way and only needs a retry.
  if (pending.deadLetters) times.push(pending.retryAt || pending.now);
  if (!pending.registered) times.push(pending.retryAt || pending.now + RETRY_LATER_MS);
  const due = times.filter((t): t is number => t !== null);
  return due.length ? Math.min(...due) : null;
}

/**
 * The synchronous part of an alarm run, bounded per run: expired leases come
 * back, due retries become available, old messages and keys are deleted.
 * Safe to run twice: every step looks at the clock and the rows, not at what
 * an earlier run did.
 */
export function runHousekeeping(log: Log, delivery: Delivery, now: number): void {
  if (!log.meta) return;
  delivery.expireLeases(now);
  delivery.promoteDue(now);
  log.expire(now, delivery.protectedFrom());
  log.expireKeys(now);
}
