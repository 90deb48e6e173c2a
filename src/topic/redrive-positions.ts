import type { Sql } from "../storage/sql";

/** How far a subscription's redrives have read its dead-letter topic's log. */
export interface RedrivePosition {
  deadLetterTopic: string;
  /** The dead-letter topic's epoch the position belongs to: a re-created topic starts at 0. */
  epoch: string;
  /** Every copy up to this seq of the dead-letter topic has been redriven (or was not this subscription's). */
  after: number;
}

/**
 * The `redrives` table: one row per subscription that was ever redriven. The position moves in
 * the transaction that gives the messages back, so each dead letter is redriven once, crash or
 * no crash.
 */
export class RedrivePositions {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  get(subscription: string): RedrivePosition | null {
    const row = this.#sql.one<{ dead_letter_topic: string; epoch: string; after: number }>(
      "SELECT dead_letter_topic, epoch, after FROM redrives WHERE subscription = ?",
      subscription,
    );
    return row ? { deadLetterTopic: row.dead_letter_topic, epoch: row.epoch, after: row.after } : null;
  }

  set(subscription: string, position: RedrivePosition): void {
    this.#sql.run(
      "INSERT OR REPLACE INTO redrives (subscription, dead_letter_topic, epoch, after) VALUES (?, ?, ?, ?)",
      subscription,
      position.deadLetterTopic,
      position.epoch,
      position.after,
    );
  }

  delete(subscription: string): void {
    this.#sql.run("DELETE FROM redrives WHERE subscription = ?", subscription);
  }
}
