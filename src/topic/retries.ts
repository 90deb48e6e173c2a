import { json, type Sql } from "../storage/sql";

/** A due retry, with what delivery decides on: its message's key and size, or `gone` when retention deleted it. */
export interface DueRow extends Record<string, SqlStorageValue> {
  seq: number;
  attempts: number;
  key: string | null;
  size: number | null;
  expires_at: number | null;
  gone: number;
}

/**
 * The `retries` table: a row only for a message below the cursor that needs
 * another delivery — a redelivery, a delayed message, or one held back by
 * ordering — never one per message delivered once. `attempts` counts the
 * deliveries so far; `available_at` is NULL while the message is leased, 0 when
 * it is available now, otherwise the time it becomes available.
 */
export class Retries {
  readonly #sql: Sql;
  /** Rows waiting (not leased) per subscription, counted when first asked and forgotten on a write. */
  readonly #waiting = new Map<string, number>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Forgets the counts kept in memory (at start, and after a transaction that failed). */
  unload(): void {
    this.#waiting.clear();
  }

  /** How many of a subscription's rows wait for a delivery (leased ones are in flight instead). */
  waiting(subscription: string): number {
    let n = this.#waiting.get(subscription);
    if (n === undefined) {
      n =
        this.#sql.number(
          "SELECT COUNT(*) FROM retries WHERE subscription = ? AND available_at IS NOT NULL",
          subscription,
        ) ?? 0;
      this.#waiting.set(subscription, n);
    }
    return n;
  }

  due(subscription: string, now: number, limit: number): DueRow[] {
    return this.#sql.all<DueRow>(
      `SELECT r.seq, r.attempts, m.key, length(m.body) + coalesce(length(m.attributes), 0) AS size,
         m.expires_at, m.seq IS NULL AS gone
       FROM retries r LEFT JOIN messages m ON m.seq = r.seq
       WHERE r.subscription = ? AND r.available_at IS NOT NULL AND r.available_at <= ?
       ORDER BY r.seq LIMIT ?`,
      subscription,
      now,
      limit,
    );
  }

  /** Adds a row, or sets when an existing one becomes available again (keeping its attempts). */
  put(subscription: string, seq: number, attempts: number, availableAt: number): void {
    this.#waiting.delete(subscription);
    this.#sql.run(
      `INSERT INTO retries (subscription, seq, attempts, available_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (subscription, seq) DO UPDATE SET available_at = excluded.available_at`,
      subscription,
      seq,
      attempts,
      availableAt,
    );
  }

  /** Records a delivery of these rows: one more attempt each, leased. */
  lease(subscription: string, seqs: number[]): void {
    this.#waiting.delete(subscription);
    if (seqs.length === 0) return;
    this.#sql.run(
      `UPDATE retries SET attempts = attempts + 1, available_at = NULL
       WHERE subscription = ? AND seq IN (SELECT value FROM json_each(?))`,
      subscription,
      json(seqs),
    );
  }

  delete(subscription: string, seqs: number[]): void {
    this.#waiting.delete(subscription);
    if (seqs.length === 0) return;
    this.#sql.run(
      "DELETE FROM retries WHERE subscription = ? AND seq IN (SELECT value FROM json_each(?))",
      subscription,
      json(seqs),
    );
  }

  /** seq → deliveries so far, for those of `seqs` that have a row. */
  attempts(subscription: string, seqs: number[]): Map<number, number> {
    const rows = this.#sql.all<{ seq: number; attempts: number }>(
      "SELECT seq, attempts FROM retries WHERE subscription = ? AND seq IN (SELECT value FROM json_each(?))",
      subscription,
      json(seqs),
    );
    return new Map(rows.map((row) => [row.seq, row.attempts]));
  }

  seqs(subscription: string): number[] {
    return this.#sql
      .all<{ seq: number }>("SELECT seq FROM retries WHERE subscription = ?", subscription)
      .map((row) => row.seq);
  }

  /** Rows available now but held back (ordering): they bound how far an ordered subscription reads ahead. */
  held(subscription: string): number {
    return (
      this.#sql.number(
        "SELECT COUNT(*) FROM retries WHERE subscription = ? AND available_at = 0",
        subscription,
      ) ?? 0
    );
  }

  /** Marks rows that came due as available now, so the alarm stops counting them. */
  promoteDue(now: number): number {
    return this.#sql.run(
      "UPDATE retries SET available_at = 0 WHERE available_at > 0 AND available_at <= ?",
      now,
    );
  }

  /** The lowest seq with a row, of one subscription or of all. */
  lowestSeq(subscription?: string): number | null {
    return subscription === undefined
      ? this.#sql.number("SELECT MIN(seq) FROM retries")
      : this.#sql.number("SELECT MIN(seq) FROM retries WHERE subscription = ?", subscription);
  }

  nextDue(): number | null {
    return this.#sql.number("SELECT MIN(available_at) FROM retries WHERE available_at > 0");
  }

  clear(subscription: string): void {
    this.#waiting.delete(subscription);
    this.#sql.run("DELETE FROM retries WHERE subscription = ?", subscription);
  }
}
