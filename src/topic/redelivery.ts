import { backoffDelay } from "./backoff";
import type { DeadLetters } from "./dead-letters";
import type { Lease, Leases } from "./leases";
import type { Log } from "./log";
import { isExpired } from "./message-rows";
import type { Retries } from "./retries";
import type { Subscription, Subscriptions } from "./subscriptions";

/**
 * Messages that come back: nacked, in a lease that ran out, or held by a consumer socket that
 * closed. Each needs another delivery after a backoff (or at once, for a closed socket), unless
 * it is out of attempts: then it waits for its dead-letter copy, or is dropped and counted when
 * the subscription has no dead-letter topic.
 */
export class Redelivery {
  readonly #subscriptions: Subscriptions;
  readonly #leases: Leases;
  readonly #retries: Retries;
  readonly #deadLetters: DeadLetters;
  readonly #random: () => number;
  readonly #log: Log;

  constructor(
    subscriptions: Subscriptions,
    tables: { leases: Leases; retries: Retries; deadLetters: DeadLetters },
    random: () => number,
    log: Log,
  ) {
    this.#log = log;
    this.#subscriptions = subscriptions;
    this.#leases = tables.leases;
    this.#retries = tables.retries;
    this.#deadLetters = tables.deadLetters;
    this.#random = random;
  }

  /** Makes leased seqs available again after `delay`, or after backoff when omitted. */
  nack(subscription: Subscription, seqs: number[], now: number, delay?: number): number {
    const leased = this.#leases.bySeq(subscription.name);
    const nacked = [...new Set(seqs)].filter((seq) => leased.has(seq));
    if (nacked.length === 0) return 0;
    this.#leases.remove(leased, nacked);
    this.#release(subscription, nacked, (attempts) =>
      delay === undefined ? now + this.#backoff(subscription, attempts) : now + delay,
    );
    subscription.counters.nacked += nacked.length;
    this.#subscriptions.save(subscription);
    return nacked.length;
  }

  /**
   * Releases leases that ran out, at most `limit` of them: their unacked
   * messages come back after backoff (or go to the dead letters).
   */
  expireLeases(now: number, limit = 500): number {
    const leases = this.#leases.expired(now, limit);
    this.#releaseLeases(leases, (subscription, attempts) => now + this.#backoff(subscription, attempts));
    return leases.length;
  }

  /** A consumer went away: its messages are available to the others at once. */
  releaseConsumer(consumer: string): number {
    const leases = this.#leases.ofConsumer(consumer);
    this.#releaseLeases(leases, () => 0);
    return leases.reduce((n, lease) => n + lease.seqs.length, 0);
  }

  #backoff(subscription: Subscription, attempts: number): number {
    return backoffDelay(attempts, subscription.config.backoff, this.#random);
  }

  #releaseLeases(
    leases: Lease[],
    availableAt: (subscription: Subscription, attempts: number) => number,
  ): void {
    this.#leases.delete(leases);
    for (const [name, group] of Map.groupBy(leases, (lease) => lease.subscription)) {
      const subscription = this.#subscriptions.get(name);
      const seqs = group.flatMap((lease) => lease.seqs);
      if (!subscription || seqs.length === 0) continue;
      this.#release(subscription, seqs, (n) => availableAt(subscription, n));
      this.#subscriptions.save(subscription);
    }
  }

  /**
   * Seqs just taken out of their leases need another delivery, unless they
   * are out of attempts: then they wait for the dead-letter copy, or are
   * dropped when the subscription has no dead-letter topic.
   */
  #release(subscription: Subscription, seqs: number[], availableAt: (attempts: number) => number): void {
    const name = subscription.name;
    const { maxAttempts, deadLetterTopic } = subscription.config;
    const attempts = this.#retries.attempts(name, seqs);
    const exhausted: number[] = [];
    for (const seq of seqs) {
      // A message leased without a retry row was on its first delivery.
      const delivered = attempts.get(seq) ?? 1;
      if (maxAttempts !== null && delivered >= maxAttempts) exhausted.push(seq);
      else this.#retries.put(name, seq, delivered, availableAt(delivered));
    }
    if (exhausted.length === 0) return;
    this.#retries.delete(name, exhausted);
    // A message whose time to live ran out is expired, never dead-lettered: it is not wanted any more.
    const now = Date.now();
    const heads = this.#log.sizes(exhausted);
    const live = exhausted.filter((seq) => {
      const head = heads.get(seq);
      return !(head && isExpired(head, now));
    });
    subscription.counters.expired += exhausted.length - live.length;
    if (live.length === 0) return;
    if (!deadLetterTopic) {
      subscription.counters.discarded += live.length;
      return;
    }
    // Counted once, when a message runs out of attempts, in the transaction that records it:
    // the copy that follows may be retried and answered as a duplicate, and counts nothing.
    subscription.counters.deadLettered += this.#deadLetters.add(name, live);
  }
}
