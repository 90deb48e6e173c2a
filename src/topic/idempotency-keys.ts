import type { PublishReceipt } from "../protocol/topic-rpc";
import type { Sql } from "../storage/sql";

/**
 * The `dedup` table: each idempotency key a publish carried, with the seq and id it got, until
 * the topic's dedup window has passed (DESIGN.md §3). A publish that repeats a key within the
 * window is answered with the original receipt instead of being stored again.
 */
export class IdempotencyKeys {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** The receipt of the publish that carried `key`, while it is remembered. */
  lookup(key: string, now: number): PublishReceipt | undefined {
    const row = this.#sql.one<{ seq: number; id: string }>(
      "SELECT seq, id FROM dedup WHERE idempotency_key = ? AND expires_at > ?",
      key,
      now,
    );
    return row ? { seq: row.seq, id: row.id, duplicate: true } : undefined;
  }

  remember(key: string, receipt: PublishReceipt, expiresAt: number): void {
    this.#sql.run(
      "INSERT OR REPLACE INTO dedup (idempotency_key, seq, id, expires_at) VALUES (?, ?, ?, ?)",
      key,
      receipt.seq,
      receipt.id,
      expiresAt,
    );
  }

  /** Forgets keys past their window, at most `limit` per call. */
  expire(now: number, limit = 5_000): number {
    return this.#sql.run(
      "DELETE FROM dedup WHERE idempotency_key IN (SELECT idempotency_key FROM dedup WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
      now,
      limit,
    );
  }

  /** When the next key is due to be forgotten. */
  nextExpiry(): number | null {
    return this.#sql.number("SELECT MIN(expires_at) FROM dedup");
  }
}
