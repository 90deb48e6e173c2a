import type { WireMessage } from "../protocol/message";
import { backoffDelay } from "./backoff";
import { type Log, type MessageRow, toWire } from "./log";
import type { Sql } from "./sql";
import type { Subscription, Subscriptions } from "./subscriptions";

interface LeaseRow extends Record<string, SqlStorageValue> {
  id: number;
  subscription: string;
  consumer: string | null;
  expires_at: number;
  first_seq: number;
  seqs: string;
}

interface Lease {
  id: number;
  subscription: string;
  consumer: string | null;
  expiresAt: number;
  seqs: number[];
}

/** Seqs in a lease or a retry row: delivered at least once and not yet acked. */
interface Outstanding {
  leased: Map<number, Lease>;
  /** seq → deliveries so far, for rows of the retries table. */
  attempts: Map<number, number>;
}

const SCAN_LIMIT = 1_000;
/** Ordered subscriptions stop reading ahead when this many messages wait behind their keys. */
const HELD_LIMIT = 1_000;

const parseLease = (row: LeaseRow): Lease => ({
  id: row.id,
  subscription: row.subscription,
  consumer: row.consumer,
  expiresAt: row.expires_at,
  seqs: JSON.parse(row.seqs),
});

const json = (seqs: Iterable<number>) => JSON.stringify([...seqs]);

function matches(subscription: Subscription, row: MessageRow): boolean {
  const wanted = subscription.config.filter?.attributes;
  if (!wanted) return true;
  const attributes: Record<string, string> = row.attributes ? JSON.parse(row.attributes) : {};
  return Object.entries(wanted).every(([name, value]) => attributes[name] === value);
}

/**
 * Delivery state of subscriptions, all of it in SQLite: a cursor per
 * subscription, one lease row per delivered batch, and retry rows only for
 * messages that need another delivery. A retry row's `available_at` is NULL
 * while leased, 0 when available now, otherwise the time it becomes available.
 */
export class Delivery {
  readonly #sql: Sql;
  readonly #log: Log;
  readonly #subscriptions: Subscriptions;
  readonly #random: () => number;

  constructor(sql: Sql, log: Log, subscriptions: Subscriptions, random: () => number = Math.random) {
    this.#sql = sql;
    this.#log = log;
    this.#subscriptions = subscriptions;
    this.#random = random;
  }

  /**
   * Leases up to `max` messages to one consumer (`null` for HTTP pulls):
   * retries that are due first, then new messages in seq order.
   */
  deliver(subscription: Subscription, max: number, now: number, consumer: string | null): WireMessage[] {
    const name = subscription.name;
    const ordered = subscription.config.ordered ? this.#keyHeads(subscription) : null;
    const busy = new Set<string>();
    const chosen: { row: MessageRow; attempt: number }[] = [];
    const retried: number[] = [];

    const due = this.#sql.all<MessageRow & { attempts: number; r_seq: number }>(
      `SELECT r.seq AS r_seq, r.attempts, m.* FROM retries r LEFT JOIN messages m ON m.seq = r.seq
       WHERE r.subscription = ? AND r.available_at IS NOT NULL AND r.available_at <= ?
       ORDER BY r.seq LIMIT ?`,
      name,
      now,
      ordered ? SCAN_LIMIT : max,
    );
    const vanished: number[] = [];
    for (const row of due) {
      if (chosen.length >= max) break;
      if (row.seq === null) {
        vanished.push(row.r_seq); // deleted by retention (drop-oldest)
        continue;
      }
      if (ordered) {
        const key = row.key ?? "";
        if (ordered.get(key) !== row.seq || busy.has(key)) continue;
        busy.add(key);
      }
      chosen.push({ row, attempt: row.attempts + 1 });
      retried.push(row.seq);
    }
    if (vanished.length) {
      this.#sql.run(
        "DELETE FROM retries WHERE subscription = ? AND seq IN (SELECT value FROM json_each(?))",
        name,
        json(vanished),
      );
    }

    let held = ordered ? this.#heldCount(name) : 0;
    let scanned = 0;
    while (chosen.length < max && scanned < SCAN_LIMIT && held < HELD_LIMIT) {
      const rows = this.#log.read(subscription.cursor - 1, Math.min(SCAN_LIMIT - scanned, 256));
      if (rows.length === 0) break;
      for (const row of rows) {
        if (chosen.length >= max || held >= HELD_LIMIT) break;
        scanned++;
        subscription.cursor = row.seq + 1;
        if (!matches(subscription, row)) continue;
        if (row.deliver_at > now) {
          this.#addRetry(name, row.seq, 0, row.deliver_at);
          if (ordered && !ordered.has(row.key ?? "")) ordered.set(row.key ?? "", row.seq);
          continue;
        }
        if (ordered) {
          const key = row.key ?? "";
          if (ordered.has(key) || busy.has(key)) {
            this.#addRetry(name, row.seq, 0, 0);
            if (!ordered.has(key)) ordered.set(key, row.seq);
            held++;
            continue;
          }
          busy.add(key);
          ordered.set(key, row.seq);
        }
        chosen.push({ row, attempt: 1 });
      }
    }

    if (chosen.length === 0) {
      if (scanned) this.#subscriptions.save(subscription);
      return [];
    }
    const expiresAt = now + subscription.config.ackTimeout;
    const seqs = chosen.map((c) => c.row.seq);
    this.#sql.run(
      "INSERT INTO leases (subscription, consumer, expires_at, first_seq, seqs) VALUES (?, ?, ?, ?, ?)",
      name,
      consumer,
      expiresAt,
      Math.min(...seqs),
      json(seqs),
    );
    if (retried.length) {
      this.#sql.run(
        "UPDATE retries SET attempts = attempts + 1, available_at = NULL WHERE subscription = ? AND seq IN (SELECT value FROM json_each(?))",
        name,
        json(retried),
      );
    }
    subscription.counters.delivered += chosen.length;
    subscription.counters.redelivered += chosen.filter((c) => c.attempt > 1).length;
    this.#subscriptions.save(subscription);
    return chosen.map(({ row, attempt }) => ({ ...toWire(row), attempt, leaseExpiresAt: expiresAt }));
  }

  /** Acks seqs; returns how many were outstanding (acking twice is harmless). */
  ack(subscription: Subscription, seqs: number[]): number {
    const outstanding = this.#outstanding(subscription.name, seqs);
    const acked = [...new Set(seqs)].filter(
      (seq) => outstanding.leased.has(seq) || outstanding.attempts.has(seq),
    );
    if (acked.length === 0) return 0;
    this.#removeFromLeases(outstanding, acked);
    this.#deleteRetries(subscription.name, acked);
    subscription.counters.acked += acked.length;
    this.#subscriptions.save(subscription);
    return acked.length;
  }

  /** Makes leased seqs available again after `delay`, or after backoff when omitted. */
  nack(subscription: Subscription, seqs: number[], now: number, delay?: number): number {
    const outstanding = this.#outstanding(subscription.name, seqs);
    const leased = [...new Set(seqs)].filter((seq) => outstanding.leased.has(seq));
    if (leased.length === 0) return 0;
    this.#removeFromLeases(outstanding, leased);
    this.#release(subscription, leased, outstanding.attempts, (attempts) =>
      delay === undefined ? now + this.#backoff(subscription, attempts) : now + delay,
    );
    subscription.counters.nacked += leased.length;
    this.#subscriptions.save(subscription);
    return leased.length;
  }

  /** Pushes back the lease expiry of the leases holding `seqs`. */
  extend(subscription: Subscription, seqs: number[], now: number, ackTimeout?: number): number {
    const outstanding = this.#outstanding(subscription.name, seqs);
    const leases = new Set<Lease>();
    let count = 0;
    for (const seq of new Set(seqs)) {
      const lease = outstanding.leased.get(seq);
      if (lease) {
        leases.add(lease);
        count++;
      }
    }
    const expiresAt = now + (ackTimeout ?? subscription.config.ackTimeout);
    for (const lease of leases) {
      this.#sql.run("UPDATE leases SET expires_at = MAX(expires_at, ?) WHERE id = ?", expiresAt, lease.id);
    }
    return count;
  }

  /**
   * Releases leases that ran out, at most `limit` of them: their unacked
   * messages come back after backoff (or go to the dead letters).
   */
  expireLeases(now: number, limit = 500): number {
    const rows = this.#sql.all<LeaseRow>(
      "SELECT * FROM leases WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
      now,
      limit,
    );
    this.#releaseLeases(
      rows.map(parseLease),
      (subscription, attempts) => now + this.#backoff(subscription, attempts),
    );
    return rows.length;
  }

  /** A consumer went away: its messages are available to the others at once. */
  releaseConsumer(consumer: string): number {
    const rows = this.#sql.all<LeaseRow>("SELECT * FROM leases WHERE consumer = ?", consumer);
    this.#releaseLeases(rows.map(parseLease), () => 0);
    return rows.reduce((n, row) => n + JSON.parse(row.seqs).length, 0);
  }

  /** How many messages a consumer (socket session) holds leased. */
  inFlightOf(consumer: string): number {
    return (
      this.#sql.number(
        "SELECT COALESCE(SUM(json_array_length(seqs)), 0) FROM leases WHERE consumer = ?",
        consumer,
      ) ?? 0
    );
  }

  /** Moves the cursor; everything before it counts as acked, everything after as new. */
  seek(subscription: Subscription, cursor: number): void {
    this.#sql.run("DELETE FROM leases WHERE subscription = ?", subscription.name);
    this.#sql.run("DELETE FROM retries WHERE subscription = ?", subscription.name);
    this.#sql.run("DELETE FROM dead_letters WHERE subscription = ?", subscription.name);
    subscription.cursor = cursor;
    this.#subscriptions.save(subscription);
  }

  /** Marks retries that came due as available now; returns how many did. */
  promoteDue(now: number): number {
    return this.#sql.run(
      "UPDATE retries SET available_at = 0 WHERE available_at > 0 AND available_at <= ?",
      now,
    );
  }

  /** The earliest lease expiry or retry due time, for the alarm. */
  nextDue(): number | null {
    const lease = this.#sql.number("SELECT MIN(expires_at) FROM leases");
    const retry = this.#sql.number("SELECT MIN(available_at) FROM retries WHERE available_at > 0");
    const times = [lease, retry].filter((t): t is number => t !== null);
    return times.length ? Math.min(...times) : null;
  }

  /** Every seq below it is acked by this subscription. */
  ackFloor(subscription: Subscription): number {
    const name = subscription.name;
    const lowest = this.#sql.number(
      `SELECT MIN(s) FROM (
         SELECT MIN(first_seq) AS s FROM leases WHERE subscription = ?1
         UNION ALL SELECT MIN(seq) FROM retries WHERE subscription = ?1
         UNION ALL SELECT MIN(seq) FROM dead_letters WHERE subscription = ?1)`,
      name,
    );
    return lowest === null ? subscription.cursor : Math.min(lowest, subscription.cursor);
  }

  /** The lowest seq any subscription still needs; retention keeps it and everything after. */
  protectedFrom(): number {
    const cursors = this.#subscriptions.all().map((s) => s.cursor);
    if (cursors.length === 0) return Number.MAX_SAFE_INTEGER;
    const lowest = this.#sql.number(
      `SELECT MIN(s) FROM (
         SELECT MIN(first_seq) AS s FROM leases
         UNION ALL SELECT MIN(seq) FROM retries
         UNION ALL SELECT MIN(seq) FROM dead_letters)`,
    );
    return Math.min(lowest ?? Number.MAX_SAFE_INTEGER, ...cursors);
  }

  stats(subscription: Subscription): { backlog: number; inFlight: number } {
    const name = subscription.name;
    const fresh = this.#sql.number("SELECT COUNT(*) FROM messages WHERE seq >= ?", subscription.cursor) ?? 0;
    const leases = this.#sql
      .all<LeaseRow>("SELECT * FROM leases WHERE subscription = ?", name)
      .map(parseLease);
    const leased = new Set(leases.flatMap((lease) => lease.seqs));
    const retries = this.#sql.all<{ seq: number }>("SELECT seq FROM retries WHERE subscription = ?", name);
    const dead = this.#sql.number("SELECT COUNT(*) FROM dead_letters WHERE subscription = ?", name) ?? 0;
    const waiting = retries.filter((r) => !leased.has(r.seq)).length;
    return { backlog: fresh + leased.size + waiting + dead, inFlight: leased.size };
  }

  #backoff(subscription: Subscription, attempts: number): number {
    return backoffDelay(attempts, subscription.config.backoff, this.#random);
  }

  #releaseLeases(
    leases: Lease[],
    availableAt: (subscription: Subscription, attempts: number) => number,
  ): void {
    const bySubscription = new Map<string, Lease[]>();
    for (const lease of leases) {
      const list = bySubscription.get(lease.subscription) ?? [];
      list.push(lease);
      bySubscription.set(lease.subscription, list);
    }
    for (const [name, list] of bySubscription) {
      const subscription = this.#subscriptions.get(name);
      const seqs = list.flatMap((lease) => lease.seqs);
      this.#sql.run(
        "DELETE FROM leases WHERE id IN (SELECT value FROM json_each(?))",
        json(list.map((l) => l.id)),
      );
      if (!subscription || seqs.length === 0) continue;
      const attempts = this.#outstanding(name, seqs).attempts;
      this.#release(subscription, seqs, attempts, (n) => availableAt(subscription, n));
      this.#subscriptions.save(subscription);
    }
  }

  /**
   * Seqs just taken out of their leases need another delivery, unless they
   * are out of attempts: then they wait for the dead-letter copy, or are
   * dropped when the subscription has no dead-letter topic.
   */
  #release(
    subscription: Subscription,
    seqs: number[],
    attempts: Map<number, number>,
    availableAt: (attempts: number) => number,
  ): void {
    const { maxAttempts, deadLetterTopic } = subscription.config;
    for (const seq of seqs) {
      const delivered = attempts.get(seq) ?? 1;
      if (maxAttempts !== null && delivered >= maxAttempts) {
        this.#sql.run("DELETE FROM retries WHERE subscription = ? AND seq = ?", subscription.name, seq);
        if (deadLetterTopic) {
          this.#sql.run(
            "INSERT OR IGNORE INTO dead_letters (subscription, seq) VALUES (?, ?)",
            subscription.name,
            seq,
          );
        } else {
          subscription.counters.discarded++;
        }
        continue;
      }
      this.#addRetry(subscription.name, seq, delivered, availableAt(delivered));
    }
  }

  #addRetry(name: string, seq: number, attempts: number, availableAt: number): void {
    this.#sql.run(
      `INSERT INTO retries (subscription, seq, attempts, available_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (subscription, seq) DO UPDATE SET available_at = excluded.available_at`,
      name,
      seq,
      attempts,
      availableAt,
    );
  }

  #deleteRetries(name: string, seqs: number[]): void {
    this.#sql.run(
      "DELETE FROM retries WHERE subscription = ? AND seq IN (SELECT value FROM json_each(?))",
      name,
      json(seqs),
    );
  }

  #outstanding(name: string, seqs: number[]): Outstanding {
    const leased = new Map<number, Lease>();
    for (const row of this.#sql.all<LeaseRow>("SELECT * FROM leases WHERE subscription = ?", name)) {
      const lease = parseLease(row);
      for (const seq of lease.seqs) leased.set(seq, lease);
    }
    const attempts = new Map<number, number>();
    const rows = this.#sql.all<{ seq: number; attempts: number }>(
      "SELECT seq, attempts FROM retries WHERE subscription = ? AND seq IN (SELECT value FROM json_each(?))",
      name,
      json(seqs),
    );
    for (const row of rows) attempts.set(row.seq, row.attempts);
    return { leased, attempts };
  }

  #removeFromLeases(outstanding: Outstanding, seqs: number[]): void {
    const touched = new Set<Lease>();
    for (const seq of seqs) {
      const lease = outstanding.leased.get(seq);
      if (!lease) continue;
      lease.seqs = lease.seqs.filter((s) => s !== seq);
      touched.add(lease);
    }
    for (const lease of touched) {
      if (lease.seqs.length === 0) {
        this.#sql.run("DELETE FROM leases WHERE id = ?", lease.id);
      } else {
        this.#sql.run(
          "UPDATE leases SET seqs = ?, first_seq = ? WHERE id = ?",
          json(lease.seqs),
          Math.min(...lease.seqs),
          lease.id,
        );
      }
    }
  }

  /** Ordered delivery: for each key, the lowest seq still outstanding. */
  #keyHeads(subscription: Subscription): Map<string, number> {
    const name = subscription.name;
    const seqs = new Set<number>();
    for (const row of this.#sql.all<LeaseRow>("SELECT * FROM leases WHERE subscription = ?", name)) {
      for (const seq of parseLease(row).seqs) seqs.add(seq);
    }
    for (const row of this.#sql.all<{ seq: number }>(
      "SELECT seq FROM retries WHERE subscription = ?1 UNION SELECT seq FROM dead_letters WHERE subscription = ?1",
      name,
    )) {
      seqs.add(row.seq);
    }
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

  #heldCount(name: string): number {
    return (
      this.#sql.number("SELECT COUNT(*) FROM retries WHERE subscription = ? AND available_at = 0", name) ?? 0
    );
  }
}
