import { json, type Sql } from "../storage/sql";

interface LeaseRow extends Record<string, SqlStorageValue> {
  id: number;
  subscription: string;
  consumer: string | null;
  expires_at: number;
  seqs: string;
}

/** One delivered batch: its still-unacked seqs, who holds them, until when. */
export interface Lease {
  id: number;
  subscription: string;
  /** The socket session holding it; `null` for an HTTP pull. */
  consumer: string | null;
  expiresAt: number;
  seqs: number[];
}

/**
 * The `leases` table: one row per delivered batch rather than per message, so
 * delivering and acking a batch of a hundred costs two row writes, not two
 * hundred. The table is mirrored in memory (it holds only what is in flight),
 * indexed by subscription, so acks, credit, stats and the alarm read no rows
 * and one subscription's work never walks another's leases; every write goes
 * to both, and `load()` rebuilds the mirror from SQLite (at start, and after a
 * transaction that failed).
 */
export class Leases {
  readonly #sql: Sql;
  readonly #byId = new Map<number, Lease>();
  readonly #bySubscription = new Map<string, Set<Lease>>();
  /** Leased seqs per subscription. */
  readonly #counts = new Map<string, number>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Forgets what memory holds: the database has no topic. */
  unload(): void {
    this.#byId.clear();
    this.#bySubscription.clear();
    this.#counts.clear();
  }

  load(): void {
    this.unload();
    for (const row of this.#sql.all<LeaseRow>(
      "SELECT id, subscription, consumer, expires_at, seqs FROM leases",
    )) {
      this.#remember({
        id: row.id,
        subscription: row.subscription,
        consumer: row.consumer,
        expiresAt: row.expires_at,
        seqs: JSON.parse(row.seqs),
      });
    }
  }

  add(subscription: string, consumer: string | null, expiresAt: number, seqs: number[]): void {
    const row = this.#sql.one<{ id: number }>(
      "INSERT INTO leases (subscription, consumer, expires_at, seqs) VALUES (?, ?, ?, ?) RETURNING id",
      subscription,
      consumer,
      expiresAt,
      json(seqs),
    );
    const id = (row as { id: number }).id;
    this.#remember({ id, subscription, consumer, expiresAt, seqs: [...seqs] });
  }

  /** Every leased seq of a subscription, with the lease that holds it. */
  bySeq(subscription: string): Map<number, Lease> {
    const leased = new Map<number, Lease>();
    for (const lease of this.#of(subscription)) {
      for (const seq of lease.seqs) leased.set(seq, lease);
    }
    return leased;
  }

  /** How many seqs of a subscription are leased. */
  count(subscription: string): number {
    return this.#counts.get(subscription) ?? 0;
  }

  expired(now: number, limit: number): Lease[] {
    return [...this.#byId.values()]
      .filter((lease) => lease.expiresAt <= now)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .slice(0, limit);
  }

  ofConsumer(consumer: string): Lease[] {
    return [...this.#byId.values()].filter((lease) => lease.consumer === consumer);
  }

  delete(leases: Lease[]): void {
    if (leases.length === 0) return;
    this.#sql.run(
      "DELETE FROM leases WHERE id IN (SELECT value FROM json_each(?))",
      json(leases.map((lease) => lease.id)),
    );
    for (const lease of leases) this.#forget(lease);
  }

  /** Takes settled seqs out of their leases: a lease left empty is deleted. */
  remove(leased: Map<number, Lease>, seqs: number[]): void {
    const settled = new Set(seqs);
    const touched = new Set<Lease>();
    for (const seq of settled) {
      const lease = leased.get(seq);
      if (lease) touched.add(lease);
    }
    for (const lease of touched) {
      const kept = lease.seqs.filter((seq) => !settled.has(seq));
      if (kept.length === 0) {
        this.#sql.run("DELETE FROM leases WHERE id = ?", lease.id);
        this.#forget(lease);
        continue;
      }
      this.#sql.run("UPDATE leases SET seqs = ? WHERE id = ?", json(kept), lease.id);
      this.#counts.set(
        lease.subscription,
        this.count(lease.subscription) - (lease.seqs.length - kept.length),
      );
      lease.seqs = kept;
    }
  }

  /** Pushes the expiry of whole leases to at least `expiresAt`. */
  extend(leases: Iterable<Lease>, expiresAt: number): void {
    for (const lease of leases) {
      if (lease.expiresAt >= expiresAt) continue;
      this.#sql.run("UPDATE leases SET expires_at = ? WHERE id = ?", expiresAt, lease.id);
      lease.expiresAt = expiresAt;
    }
  }

  /** Messages held per consumer (socket session) of a subscription. */
  inFlightBy(subscription: string): Map<string, number> {
    const held = new Map<string, number>();
    for (const lease of this.#of(subscription)) {
      if (lease.consumer === null) continue;
      held.set(lease.consumer, (held.get(lease.consumer) ?? 0) + lease.seqs.length);
    }
    return held;
  }

  clear(subscription: string): void {
    this.#sql.run("DELETE FROM leases WHERE subscription = ?", subscription);
    for (const lease of this.#of(subscription)) this.#byId.delete(lease.id);
    this.#bySubscription.delete(subscription);
    this.#counts.delete(subscription);
  }

  nextExpiry(): number | null {
    let earliest: number | null = null;
    for (const lease of this.#byId.values()) {
      if (earliest === null || lease.expiresAt < earliest) earliest = lease.expiresAt;
    }
    return earliest;
  }

  /** The lowest leased seq, of one subscription or of all. */
  lowestSeq(subscription?: string): number | null {
    let lowest: number | null = null;
    const leases = subscription === undefined ? this.#byId.values() : this.#of(subscription);
    for (const lease of leases) {
      for (const seq of lease.seqs) if (lowest === null || seq < lowest) lowest = seq;
    }
    return lowest;
  }

  #of(subscription: string): Iterable<Lease> {
    return this.#bySubscription.get(subscription) ?? [];
  }

  #remember(lease: Lease): void {
    this.#byId.set(lease.id, lease);
    const set = this.#bySubscription.get(lease.subscription) ?? new Set();
    set.add(lease);
    this.#bySubscription.set(lease.subscription, set);
    this.#counts.set(lease.subscription, this.count(lease.subscription) + lease.seqs.length);
  }

  #forget(lease: Lease): void {
    if (!this.#byId.delete(lease.id)) return;
    const set = this.#bySubscription.get(lease.subscription);
    set?.delete(lease);
    if (set?.size === 0) this.#bySubscription.delete(lease.subscription);
    const n = this.count(lease.subscription) - lease.seqs.length;
    if (n > 0) this.#counts.set(lease.subscription, n);
    else this.#counts.delete(lease.subscription);
  }
}
