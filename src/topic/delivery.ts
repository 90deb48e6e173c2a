import { LIMITS } from "../protocol/limits";
import type { WireMessage } from "../protocol/message";
import type { Sql } from "../storage/sql";
import { Backlog } from "./backlog";
import { DeadLetters } from "./dead-letters";
import { compileFilter } from "./filter";
import { type Lease, Leases } from "./leases";
import type { Log } from "./log";
import { isExpired, type MessageRow, toWire } from "./message-rows";
import { Redelivery } from "./redelivery";
import { Retries } from "./retries";
import type { Subscription, Subscriptions } from "./subscriptions";

/** The consumer that holds the leases of a push subscription's requests in flight (./webhooks.ts). */
export const PUSH_CONSUMER = "push";

/** Most new messages one delivery looks at (filtered-out ones included). */
const SCAN_LIMIT = 1_000;
/** Ordered subscriptions stop reading ahead when this many messages wait behind their keys. */
const HELD_LIMIT = 1_000;

/**
 * Delivery state of subscriptions, all of it in SQLite: a cursor per
 * subscription, one lease row per delivered batch (./leases.ts), retry rows
 * only for messages that need another delivery (./retries.ts), and rows of
 * messages waiting for their dead-letter copy.
 *
 * (A little over 300 lines: deliver, settle, expire and release all change the same cursor,
 * leases and retries in one transaction, and stay together so each invariant is checked in one
 * file.)
 */
export class Delivery {
  readonly #log: Log;
  readonly #subscriptions: Subscriptions;
  readonly #leases: Leases;
  readonly #retries: Retries;
  readonly deadLetters: DeadLetters;
  readonly backlog: Backlog;
  readonly #redelivery: Redelivery;

  constructor(sql: Sql, log: Log, subscriptions: Subscriptions, random: () => number = Math.random) {
    this.#log = log;
    this.#subscriptions = subscriptions;
    this.#leases = new Leases(sql);
    this.#retries = new Retries(sql);
    this.deadLetters = new DeadLetters(sql);
    const tables = { leases: this.#leases, retries: this.#retries, deadLetters: this.deadLetters };
    this.backlog = new Backlog(log, subscriptions, tables);
    this.#redelivery = new Redelivery(subscriptions, tables, random, log);
  }

  /**
   * Leases up to `max` messages, and up to `maxBytes` of them (at least one), to one consumer
   * (`null` for HTTP pulls): retries that are due first, then new messages in seq order. What to
   * deliver is decided on seqs, keys and sizes; only the bodies delivered are loaded. A paused
   * subscription delivers nothing; a message whose time to live ran out is skipped and counted.
   */
  deliver(
    subscription: Subscription,
    max: number,
    now: number,
    consumer: string | null,
    maxBytes: number = LIMITS.pageBytes,
    ackTimeout: number = subscription.config.ackTimeout,
  ): WireMessage[] {
    // Paused: nothing for anyone. A push subscription delivers only by push, any other only to
    // pulls and sockets: switching modes is a PUT, and the two never share messages.
    const pushed = subscription.config.push !== null;
    if (subscription.config.paused || (consumer === PUSH_CONSUMER) !== pushed) return [];
    const name = subscription.name;
    const heads = subscription.config.ordered ? this.#keyHeads(name) : null;
    /** Keys given a message in this delivery: ordered subscriptions take one per key. */
    const busy = new Set<string>();
    const chosen: { seq: number; attempt: number }[] = [];
    let bytes = 0;
    const take = (seq: number, attempt: number, size: number): boolean => {
      if (chosen.length > 0 && bytes + size > maxBytes) return false;
      chosen.push({ seq, attempt });
      bytes += size;
      return true;
    };
    const retried: number[] = [];
    const vanished: number[] = [];
    let expired = 0;
    let full = false;

    for (const row of this.#retries.due(name, now, heads ? SCAN_LIMIT : max)) {
      if (chosen.length >= max) break;
      if (row.gone) {
        vanished.push(row.seq); // deleted by retention (drop-oldest)
        continue;
      }
      if (isExpired(row, now)) {
        vanished.push(row.seq);
        expired++;
        if (heads?.get(row.key ?? "") === row.seq) heads.delete(row.key ?? "");
        continue;
      }
      const key = row.key ?? "";
      if (heads && (heads.get(key) !== row.seq || busy.has(key))) continue;
      if (!take(row.seq, row.attempts + 1, row.size ?? 0)) {
        full = true;
        break;
      }
      busy.add(key);
      retried.push(row.seq);
    }
    this.#retries.delete(name, vanished);

    let held = heads ? this.#retries.held(name) : 0;
    let scanned = 0;
    let passed = 0;
    const filter = compileFilter(subscription.config.filter);
    // Pages start at twice what is wanted and double: a delivery of a few messages (a push round
    // refilling the slots its answers freed) reads a few rows, not a page of 256 it then leaves.
    let page = Math.max(16, 2 * (max - chosen.length));
    while (!full && chosen.length < max && scanned < SCAN_LIMIT && held < HELD_LIMIT) {
      const after = subscription.cursor - 1;
      const limit = Math.min(SCAN_LIMIT - scanned, page, 256);
      page *= 2;
      // A filter on bodies needs them: read a page bounded in bytes, so memory stays bounded.
      const rows = filter?.needsBody
        ? this.#log.headsWithBodies(after, limit, LIMITS.pageBytes)
        : this.#log.heads(after, limit);
      if (rows.length === 0) break;
      for (const row of rows) {
        if (chosen.length >= max || held >= HELD_LIMIT) break;
        const wanted = filter === null || filter.test(row);
        const key = row.key ?? "";
        if (wanted && isExpired(row, now)) {
          scanned++;
          passed++;
          expired++;
          subscription.cursor = row.seq + 1;
          continue;
        }
        const due = row.deliver_at <= now;
        const waits = heads !== null && (heads.has(key) || busy.has(key));
        if (wanted && due && !waits && !take(row.seq, 1, row.size)) {
          full = true; // the cursor stays on it: it goes first next time
          break;
        }
        scanned++;
        subscription.cursor = row.seq + 1;
        if (!wanted) continue;
        passed++;
        if (!due) {
          this.#retries.put(name, row.seq, 0, row.deliver_at);
          if (heads && !heads.has(key)) heads.set(key, row.seq);
        } else if (waits) {
          this.#retries.put(name, row.seq, 0, 0);
          if (heads && !heads.has(key)) heads.set(key, row.seq);
          held++;
        } else {
          busy.add(key);
          heads?.set(key, row.seq);
        }
      }
    }
    this.backlog.scanned(subscription, passed);
    subscription.counters.expired += expired;

    if (chosen.length === 0) {
      if (scanned || expired) this.#subscriptions.save(subscription);
      return [];
    }
    const expiresAt = now + ackTimeout;
    const seqs = chosen.map((c) => c.seq);
    this.#leases.add(name, consumer, expiresAt, seqs);
    this.#retries.lease(name, retried);
    subscription.counters.delivered += chosen.length;
    subscription.counters.redelivered += chosen.filter((c) => c.attempt > 1).length;
    this.#subscriptions.save(subscription);
    const rows = this.#log.get(seqs);
    return chosen.map(({ seq, attempt }) => ({
      ...toWire(rows.get(seq) as MessageRow),
      attempt,
      leaseExpiresAt: expiresAt,
    }));
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
    return this.#redelivery.nack(subscription, seqs, now, delay);
  }

  /** Releases leases that ran out, at most `limit` of them (see ./redelivery.ts). */
  expireLeases(now: number, limit = 500): number {
    return this.#redelivery.expireLeases(now, limit);
  }

  /** A consumer went away: its messages are available to the others at once. */
  releaseConsumer(consumer: string): number {
    return this.#redelivery.releaseConsumer(consumer);
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
   * The delivered, unsettled seqs among `seqs`: how many deliveries each has had, and whether it
   * is leased now (an SQS receipt handle names the delivery it came with).
   */
  outstanding(name: string, seqs: number[]): Map<number, { attempts: number; leased: boolean }> {
    const leased = this.#leases.bySeq(name);
    const attempts = this.#retries.attempts(name, seqs);
    const found = new Map<number, { attempts: number; leased: boolean }>();
    for (const seq of seqs) {
      // A message delivered once has no retry row: its first lease is its only delivery.
      const n = attempts.get(seq) ?? (leased.has(seq) ? 1 : 0);
      if (n > 0) found.set(seq, { attempts: n, leased: leased.has(seq) });
    }
    return found;
  }

  /** How many messages each consumer (socket session) of a subscription holds leased. */
  inFlightBy(subscription: string): Map<string, number> {
    return this.#leases.inFlightBy(subscription);
  }

  /** Moves the cursor; everything before it counts as acked, everything after as new. */
  seek(subscription: Subscription, cursor: number): void {
    this.forget(subscription.name);
    this.backlog.forget(subscription.name);
    subscription.cursor = cursor;
    this.#subscriptions.save(subscription);
  }

  /**
   * Gives dead-lettered messages back to a subscription (a redrive): each becomes available now,
   * attempts counted afresh, unless it is outstanding already, gone from the log, or was never
   * delivered (at or past the cursor). Returns the seqs given back.
   */
  redeliver(subscription: Subscription, seqs: number[]): number[] {
    const name = subscription.name;
    const outstanding = new Set(this.#leases.bySeq(name).keys());
    for (const seq of this.#retries.seqs(name)) outstanding.add(seq);
    for (const seq of this.deadLetters.seqs(name)) outstanding.add(seq);
    const stored = this.#log.sizes(seqs);
    const given = [...new Set(seqs)].filter(
      (seq) => stored.has(seq) && !outstanding.has(seq) && seq < subscription.cursor,
    );
    for (const seq of given) this.#retries.put(name, seq, 0, 0);
    return given;
  }

  /** Drops a subscription's leases, retries and pending dead letters (seek, delete). */
  forget(subscription: string): void {
    this.#leases.clear(subscription);
    this.#retries.clear(subscription);
    this.deadLetters.clear(subscription);
  }

  /** Rebuilds what is cached in memory from SQLite (at start, and after a transaction that failed). */
  load(): void {
    this.unload();
    this.#leases.load();
    this.deadLetters.load();
  }

  /** Forgets what memory holds: the database has no topic. */
  unload(): void {
    this.#leases.unload();
    this.#retries.unload();
    this.deadLetters.unload();
    this.backlog.unload();
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

  /** The lowest seq any subscription still needs; retention keeps it and everything after. */
  protectedFrom(): number {
    const cursors = this.#subscriptions.all().map((s) => s.cursor);
    if (cursors.length === 0) return Number.MAX_SAFE_INTEGER;
    const none = Number.MAX_SAFE_INTEGER;
    const retry = this.#retries.lowestSeq() ?? none;
    const dead = this.deadLetters.lowestSeq() ?? none;
    return Math.min(retry, dead, this.#leases.lowestSeq() ?? none, ...cursors);
  }

  /** Ordered delivery: for each key, the lowest seq still outstanding. */
  #keyHeads(name: string): Map<string, number> {
    const outstanding = new Set(this.#leases.bySeq(name).keys());
    for (const seq of this.#retries.seqs(name)) outstanding.add(seq);
    for (const seq of this.deadLetters.seqs(name)) outstanding.add(seq);
    const heads = new Map<string, number>();
    const stored = [...this.#log.sizes([...outstanding]).values()].sort((x, y) => x.seq - y.seq);
    for (const { seq, key } of stored) if (!heads.has(key ?? "")) heads.set(key ?? "", seq);
    return heads;
  }
}
