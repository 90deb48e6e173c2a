import { json, type Sql } from "../storage/sql";

/**
 * The `dead_letters` table: messages out of attempts, waiting for their copy to the
 * subscription's dead-letter topic (./dead-letter-copy.ts). A row lives from the moment a
 * message runs out of attempts until its copy is acknowledged, so it is never lost to a crash in
 * between. How many rows each subscription has is kept in memory (the alarm and the stats ask
 * often) and rebuilt from SQLite by `load()`.
 */
export class DeadLetters {
  readonly #sql: Sql;
  readonly #counts = new Map<string, number>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Forgets what memory holds: the database has no topic. */
  unload(): void {
    this.#counts.clear();
  }

  load(): void {
    this.#counts.clear();
    for (const row of this.#sql.all<{ subscription: string; n: number }>(
      "SELECT subscription, COUNT(*) AS n FROM dead_letters GROUP BY subscription",
    )) {
      this.#counts.set(row.subscription, row.n);
    }
  }

  /** Adds seqs of a subscription; returns how many were not already waiting. */
  add(subscription: string, seqs: number[]): number {
    if (seqs.length === 0) return 0;
    const added = this.#sql.run(
      "INSERT OR IGNORE INTO dead_letters (subscription, seq) SELECT ?, value FROM json_each(?)",
      subscription,
      json(seqs),
    );
    if (added) this.#counts.set(subscription, this.count(subscription) + added);
    return added;
  }

  remove(subscription: string, seqs: number[]): void {
    if (seqs.length === 0) return;
    const removed = this.#sql.run(
      "DELETE FROM dead_letters WHERE subscription = ? AND seq IN (SELECT value FROM json_each(?))",
      subscription,
      json(seqs),
    );
    this.#set(subscription, this.count(subscription) - removed);
  }

  clear(subscription: string): void {
    this.#sql.run("DELETE FROM dead_letters WHERE subscription = ?", subscription);
    this.#counts.delete(subscription);
  }

  /** Up to `limit` waiting seqs of one subscription, oldest first. */
  seqs(subscription: string, limit = Number.MAX_SAFE_INTEGER): number[] {
    if (this.count(subscription) === 0) return [];
    return this.#sql
      .all<{ seq: number }>(
        "SELECT seq FROM dead_letters WHERE subscription = ? ORDER BY seq LIMIT ?",
        subscription,
        limit,
      )
      .map((row) => row.seq);
  }

  /** The subscriptions that have messages waiting. */
  subscriptions(): string[] {
    return [...this.#counts.keys()];
  }

  count(subscription: string): number {
    return this.#counts.get(subscription) ?? 0;
  }

  get any(): boolean {
    return this.#counts.size > 0;
  }

  /** The lowest waiting seq, of one subscription or of all. */
  lowestSeq(subscription?: string): number | null {
    if (subscription === undefined) {
      return this.any ? this.#sql.number("SELECT MIN(seq) FROM dead_letters") : null;
    }
    if (this.count(subscription) === 0) return null;
    return this.#sql.number("SELECT MIN(seq) FROM dead_letters WHERE subscription = ?", subscription);
  }

  #set(subscription: string, n: number): void {
    if (n > 0) this.#counts.set(subscription, n);
    else this.#counts.delete(subscription);
  }
}
