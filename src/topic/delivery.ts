import type { WireMessage } from "../protocol/message";
import { json, type Sql } from "../storage/sql";
import { backoffDelay } from "./backoff";
import { DeadLetters } from "./dead-letters";
import { matches } from "./filter";
import { type Lease, Leases } from "./leases";
import { type Log, type MessageRow, toWire } from "./log";
import { Retries } from "./retries";
import type { Subscription, Subscriptions } from "./subscriptions";

/** Most new messages one delivery looks at (filtered-out ones included). */
const SCAN_LIMIT = 1_000;
/** Ordered subscriptions stop reading ahead when this many messages wait behind their keys. */
const HELD_LIMIT = 1_000;

/**
 * Delivery state of subscriptions, all of it in SQLite: a cursor per
 * subscription, one lease row per delivered batch (./leases.ts), retry rows
 * only for messages that need another delivery (./retries.ts), and rows of
 * messages waiting for their dead-letter copy.
 */
export class Delivery {
  readonly #sql: Sql;
  readonly #log: Log;
  readonly #subscriptions: Subscriptions;
  readonly #leases: Leases;
  readonly #retries: Retries;
  readonly deadLetters: DeadLetters;
  readonly #random: () => number;

  constructor(sql: Sql, log: Log, subscriptions: Subscriptions, random: () => number = Math.random) {
    this.#sql = sql;
    this.#log = log;
    this.#subscriptions = subscriptions;
    this.#leases = new Leases(sql);
    this.#retries = new Retries(sql);
    this.deadLetters = new DeadLetters(sql);
    this.#random = random;
  }

  /**
   * Leases up to `max` messages to one consumer (`null` for HTTP pulls):
   * retries that are due first, then new messages in seq order.
   */
  deliver(subscription: Subscription, max: number, now: number, consumer: string | null): WireMessage[] {
    const name = subscription.name;
    const heads = subscription.config.ordered ? this.#keyHeads(name) : null;
    /** Keys given a message in this delivery: ordered subscriptions take one per key. */
    const busy = new Set<string>();
    const chosen: { row: MessageRow; attempt: number }[] = [];
    const retried: number[] = [];
    const vanished: number[] = [];

    for (const row of this.#retries.due(name, now, heads ? SCAN_LIMIT : max)) {
      if (chosen.length >= max) break;
      if (row.seq === null) {
        vanished.push(row.r_seq); // deleted by retention (drop-oldest)
        continue;
      }
      if (heads) {
        const key = row.key ?? "";
        if (heads.get(key) !== row.seq || busy.has(key)) continue;
        busy.add(key);
      }
      chosen.push({ row, attempt: row.attempts + 1 });
      retried.push(row.seq);
    }
    this.#retries.delete(name, vanished);

    let held = heads ? this.#retries.held(name) : 0;
    let scanned = 0;
    while (chosen.length < max && scanned < SCAN_LIMIT && held < HELD_LIMIT) {
      const rows = this.#log.read(subscription.cursor - 1, Math.min(SCAN_LIMIT - scanned, 256));
      if (rows.length === 0) break;
      for (const row of rows) {
        if (chosen.length >= max || held >= HELD_LIMIT) break;
        scanned++;
        subscription.cursor = row.seq + 1;
        if (!matches(subscription.config.filter, row)) continue;
        const key = row.key ?? "";
        if (row.deliver_at > now) {
          this.#retries.put(name, row.seq, 0, row.deliver_at);
          if (heads && !heads.has(key)) heads.set(key, row.seq);
          continue;
        }
        if (heads) {
          if (heads.has(key) || busy.has(key)) {
            this.#retries.put(name, row.seq, 0, 0);
            if (!heads.has(key)) heads.set(key, row.seq);
            held++;
            continue;
          }
          busy.add(key);
          heads.set(key, row.seq);
        }
        chosen.push({ row, attempt: 1 });
      }
    }

    if (chosen.length === 0) {
      if (scanned) this.#subscriptions.save(subscription);
      return [];
    }
    const expiresAt = now + subscription.config.ackTimeout;
    this.#leases.add(
      name,
      consumer,
      expiresAt,
      chosen.map((c) => c.row.seq),
    );
    this.#retries.lease(name, retried);
    subscription.counters.delivered += chosen.length;
    subscription.counters.redelivered += chosen.filter((c) => c.attempt > 1).length;
    this.#subscriptions.save(subscription);
    return chosen.map(({ row, attempt }) => ({ ...toWire(row), attempt, leaseExpiresAt: expiresAt }));
  }

  /** Acks seqs; returns how many were delivered and unsettled (acking twice is harmless). */
  ack(subscription: Subscription, seqs: number[]): number {
    const name = subscription.name;
    const unique = [...new Set(seqs)];
    const leased = this.#leases.bySeq(name);
    const attempts = this.#retries.attempts(name, unique);
    // Only what was delivered and is not settled: in flight, or waiting to be delivered again. A
    // delayed message or one held back by ordering (no delivery yet) cannot be acked.
    const acked = unique.filter((seq) => leased.has(seq) || (attempts.get(seq) ?? 0) > 0);
    if (acked.length === 0) return 0;
    this.#leases.remove(leased, acked);
    this.#retries.delete(name, acked);
    subscription.counters.acked += acked.length;
    this.#subscriptions.save(subscription);
    return acked.length;
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

  /** Pushes back the expiry of the leases holding `seqs` (whole leases: one row each). */
  extend(subscription: Subscription, seqs: number[], now: number, ackTimeout?: number): number {
    const leased = this.#leases.bySeq(subscription.name);
    const found = [...new Set(seqs)].filter((seq) => leased.has(seq));
    const leases = new Set(found.map((seq) => leased.get(seq) as Lease));
    this.#leases.extend(leases, now + (ackTimeout ?? subscription.config.ackTimeout));
    return found.length;
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

  /** How many messages each consumer (socket session) of a subscription holds leased. */
  inFlightBy(subscription: string): Map<string, number> {
    return this.#leases.inFlightBy(subscription);
  }

  /** Moves the cursor; everything before it counts as acked, everything after as new. */
  seek(subscription: Subscription, cursor: number): void {
    this.forget(subscription.name);
    subscription.cursor = cursor;
    this.#subscriptions.save(subscription);
  }

  /** Drops a subscription's leases, retries and pending dead letters (seek, delete). */
  forget(subscription: string): void {
    this.#leases.clear(subscription);
    this.#retries.clear(subscription);
    this.deadLetters.clear(subscription);
  }

  /** Rebuilds what is cached in memory from SQLite (at start, and after a transaction that failed). */
  load(): void {
    this.#leases.load();
    this.deadLetters.load();
  }

  /** Forgets what memory holds: the database has no topic. */
  unload(): void {
    this.#leases.unload();
    this.deadLetters.unload();
  }

  /** Marks retries that came due as available now; returns how many did. */
  promoteDue(now: number): number {
    return this.#retries.promoteDue(now);
  }

  /** The earliest lease expiry or retry due time, for the alarm. */
  nextDue(): number | null {
    const times = [this.#leases.nextExpiry(), this.#retries.nextDue()].filter((t): t is number => t !== null);
    return times.length ? Math.min(...times) : null;
  }

  /** Every seq below it is acked by this subscription. */
  ackFloor(subscription: Subscription): number {
    const cursor = subscription.cursor;
    const retry = this.#retries.lowestSeq(subscription.name);
    const dead = this.deadLetters.lowestSeq(subscription.name);
    const leased = this.#leases.lowestSeq(subscription.name);
    return Math.min(retry ?? cursor, dead ?? cursor, leased ?? cursor, cursor);
  }

  /** The lowest seq any subscription still needs; retention keeps it and everything after. */
  protectedFrom(): number {
    const cursors = this.#subscriptions.all().map((s) => s.cursor);
    if (cursors.length === 0) return Number.MAX_SAFE_INTEGER;
    const none = Number.MAX_SAFE_INTEGER;
    const retry = this.#retries.lowestSeq() ?? none;
    const dead = this.deadLetters.lowestSeq() ?? none;
    return Math.min(retry, dead, this.#leases.lowestSeq() ?? none, ...cursors);
  }

  /**
   * Messages the subscription has not acked: never delivered (only those its filter lets
   * through), in flight, waiting for a retry, or waiting for their dead-letter copy.
   */
  stats(subscription: Subscription): { backlog: number; inFlight: number } {
    const name = subscription.name;
    const leased = this.#leases.bySeq(name);
    const waiting = this.#retries.seqs(name).filter((seq) => !leased.has(seq)).length;
    const fresh = this.#fresh(subscription);
    return { backlog: fresh + leased.size + waiting + this.deadLetters.count(name), inFlight: leased.size };
  }

  /** Messages at or after the cursor that the subscription's filter lets through. */
  #fresh(subscription: Subscription): number {
    const first = Math.max(subscription.cursor, this.#log.firstSeq() ?? this.#log.counters.nextSeq);
    const unfiltered = Math.max(0, this.#log.counters.nextSeq - first);
    if (!subscription.config.filter || unfiltered === 0) return unfiltered;
    let n = 0;
    for (let after = first - 1; ; ) {
      const rows = this.#log.read(after, 1_000);
      for (const row of rows) if (matches(subscription.config.filter, row)) n++;
      if (rows.length < 1_000) return n;
      after = (rows.at(-1) as MessageRow).seq;
    }
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
    if (!deadLetterTopic) {
      subscription.counters.discarded += exhausted.length;
      return;
    }
    // Counted once, when a message runs out of attempts, in the transaction that records it:
    // the copy that follows may be retried and answered as a duplicate, and counts nothing.
    subscription.counters.deadLettered += this.deadLetters.add(name, exhausted);
  }

  /** Ordered delivery: for each key, the lowest seq still outstanding. */
  #keyHeads(name: string): Map<string, number> {
    const seqs = new Set(this.#leases.bySeq(name).keys());
    for (const seq of this.#retries.seqs(name)) seqs.add(seq);
    for (const seq of this.deadLetters.seqs(name)) seqs.add(seq);
    const heads = new Map<string, number>();
    const keyed = this.#sql.all<{ seq: number; key: string | null }>(
      "SELECT seq, key FROM messages WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq",
      json(seqs),
    );
    for (const row of keyed) {
      if (!heads.has(row.key ?? "")) heads.set(row.key ?? "", row.seq);
    }
    return heads;
  }
}
