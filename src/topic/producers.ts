import type { ProducerStamp } from "../protocol/streams";
import type { Sql } from "../storage/sql";

/** What a producer's request is, against what the topic has accepted from that producer. */
export type ProducerCheck =
  | { kind: "new" }
  | { kind: "duplicate"; highest: number }
  | { kind: "stale-epoch"; epoch: number }
  | { kind: "epoch-start" }
  | { kind: "seq-gap"; expected: number };

/**
 * The `producers` table: each idempotent producer's epoch and the seq of the last request the
 * topic accepted from it (Kafka-style producer ids). The check and the record run in the
 * transaction that appends, so a request is stored exactly once per (id, epoch, seq), and a
 * producer that restarted with a higher epoch fences the old one out.
 */
export class Producers {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /**
   * Where `stamp` stands. A higher epoch must start at seq 0; within an epoch, a seq at or
   * below the last accepted one is a duplicate (answered with the highest accepted), the next
   * one is new, and one further on is a gap.
   */
  check(stamp: ProducerStamp): ProducerCheck {
    const row = this.#sql.one<{ epoch: number; seq: number }>(
      "SELECT epoch, seq FROM producers WHERE id = ?",
      stamp.id,
    );
    if (!row) return stamp.seq === 0 ? { kind: "new" } : { kind: "seq-gap", expected: 0 };
    if (stamp.epoch < row.epoch) return { kind: "stale-epoch", epoch: row.epoch };
    if (stamp.epoch > row.epoch) return stamp.seq === 0 ? { kind: "new" } : { kind: "epoch-start" };
    if (stamp.seq <= row.seq) return { kind: "duplicate", highest: row.seq };
    if (stamp.seq === row.seq + 1) return { kind: "new" };
    return { kind: "seq-gap", expected: row.seq + 1 };
  }

  /** Records an accepted request, ending at log seq `lastSeq`. */
  accept(stamp: ProducerStamp, lastSeq: number, now: number): void {
    this.#sql.run(
      "INSERT OR REPLACE INTO producers (id, epoch, seq, last_seq, updated_at) VALUES (?, ?, ?, ?, ?)",
      stamp.id,
      stamp.epoch,
      stamp.seq,
      lastSeq,
      now,
    );
  }

  /** The log seq where the producer's last accepted request ended. */
  lastSeq(id: string): number | null {
    return this.#sql.number("SELECT last_seq FROM producers WHERE id = ?", id);
  }
}
