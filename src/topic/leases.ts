import type { Sql } from "./sql";

interface LeaseRow extends Record<string, SqlStorageValue> {
  id: number;
  subscription: string;
  consumer: string | null;
  expires_at: number;
  first_seq: number;
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

const parse = (row: LeaseRow): Lease => ({
  id: row.id,
  subscription: row.subscription,
  consumer: row.consumer,
  expiresAt: row.expires_at,
  seqs: JSON.parse(row.seqs),
});

export const json = (values: Iterable<number>) => JSON.stringify([...values]);

/**
 * The `leases` table: one row per delivered batch rather than per message, so
 * delivering and acking a batch of a hundred costs two row writes, not two hundred.
 */
export class Leases {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  add(subscription: string, consumer: string | null, expiresAt: number, seqs: number[]): void {
    this.#sql.run(
      "INSERT INTO leases (subscription, consumer, expires_at, first_seq, seqs) VALUES (?, ?, ?, ?, ?)",
      subscription,
      consumer,
      expiresAt,
      Math.min(...seqs),
      json(seqs),
    );
  }

  /** Every leased seq of a subscription, with the lease that holds it. */
  bySeq(subscription: string): Map<number, Lease> {
    const leased = new Map<number, Lease>();
    for (const row of this.#sql.all<LeaseRow>("SELECT * FROM leases WHERE subscription = ?", subscription)) {
      const lease = parse(row);
      for (const seq of lease.seqs) leased.set(seq, lease);
    }
    return leased;
  }

  expired(now: number, limit: number): Lease[] {
    return this.#sql
      .all<LeaseRow>("SELECT * FROM leases WHERE expires_at <= ? ORDER BY expires_at LIMIT ?", now, limit)
      .map(parse);
  }

  ofConsumer(consumer: string): Lease[] {
    return this.#sql.all<LeaseRow>("SELECT * FROM leases WHERE consumer = ?", consumer).map(parse);
  }

  delete(leases: Lease[]): void {
    if (leases.length === 0) return;
    this.#sql.run(
      "DELETE FROM leases WHERE id IN (SELECT value FROM json_each(?))",
      json(leases.map((lease) => lease.id)),
    );
  }

  /** Takes settled seqs out of their leases: a lease left empty is deleted. */
  remove(leased: Map<number, Lease>, seqs: number[]): void {
    const touched = new Set<Lease>();
    for (const seq of seqs) {
      const lease = leased.get(seq);
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

  /** Pushes the expiry of whole leases to at least `expiresAt`. */
  extend(leases: Iterable<Lease>, expiresAt: number): void {
    for (const lease of leases) {
      this.#sql.run("UPDATE leases SET expires_at = MAX(expires_at, ?) WHERE id = ?", expiresAt, lease.id);
    }
  }

  inFlightOf(consumer: string): number {
    return (
      this.#sql.number(
        "SELECT COALESCE(SUM(json_array_length(seqs)), 0) FROM leases WHERE consumer = ?",
        consumer,
      ) ?? 0
    );
  }

  clear(subscription: string): void {
    this.#sql.run("DELETE FROM leases WHERE subscription = ?", subscription);
  }

  nextExpiry(): number | null {
    return this.#sql.number("SELECT MIN(expires_at) FROM leases");
  }
}
