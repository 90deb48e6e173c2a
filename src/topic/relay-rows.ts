import type { RelayAudienceRow } from "../protocol/edge-rpc";
import type { Sql } from "../storage/sql";

/** A relay of the topic and how many of its sockets it holds. */
export interface RelayTotals {
  name: string;
  sockets: number;
  privileged: number;
}

/**
 * The `relays` table: the live-tail sockets each relay of the topic holds, by who opened them
 * (DESIGN.md §6). The topic counts every socket of its audience here, wherever it is held, so its
 * caps per topic and per subject hold across relays. Mirrored in memory; rows change only when a
 * socket is admitted to a relay or leaves one, never on the publish path.
 */
export class RelayRows {
  readonly #sql: Sql;
  #relays = new Map<string, RelayTotals>();
  #subjects = new Map<string, number>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** The relays that hold sockets, by name. */
  get all(): ReadonlyMap<string, RelayTotals> {
    return this.#relays;
  }

  /** Sockets held by relays. */
  get sockets(): number {
    let n = 0;
    for (const relay of this.#relays.values()) n += relay.sockets;
    return n;
  }

  /** Sockets opened with the admin key, held by relays. */
  get privileged(): number {
    let n = 0;
    for (const relay of this.#relays.values()) n += relay.privileged;
    return n;
  }

  /** Sockets a subject holds in relays. */
  heldBy(subject: string): number {
    return this.#subjects.get(subject) ?? 0;
  }

  /** Counts a socket admitted to a relay (or, with -1, one that left it). Run in a transaction. */
  add(relay: string, subject: string | undefined, privileged: boolean, by: 1 | -1): void {
    const key = subject ?? "";
    const current =
      this.#sql.number(
        "SELECT sockets FROM relays WHERE relay = ? AND subject = ? AND privileged = ?",
        relay,
        key,
        privileged ? 1 : 0,
      ) ?? 0;
    if (current + by < 0) return; // a leave already counted by a recount
    this.#write(relay, key, privileged, current + by);
    this.#apply(relay, key, privileged, by);
  }

  /** Replaces what a relay holds with what it reports it holds. Run in a transaction. */
  replace(relay: string, rows: RelayAudienceRow[]): void {
    this.#sql.run("DELETE FROM relays WHERE relay = ?", relay);
    for (const row of rows) {
      if (row.sockets > 0) this.#write(relay, row.subject, row.privileged, row.sockets);
    }
    this.load();
  }

  load(): void {
    this.unload();
    const rows = this.#sql.all<{ relay: string; subject: string; privileged: number; sockets: number }>(
      "SELECT relay, subject, privileged, sockets FROM relays",
    );
    for (const row of rows) this.#apply(row.relay, row.subject, row.privileged === 1, row.sockets);
  }

  unload(): void {
    this.#relays = new Map();
    this.#subjects = new Map();
  }

  #write(relay: string, subject: string, privileged: boolean, sockets: number): void {
    if (sockets === 0) {
      this.#sql.run(
        "DELETE FROM relays WHERE relay = ? AND subject = ? AND privileged = ?",
        relay,
        subject,
        privileged ? 1 : 0,
      );
      return;
    }
    this.#sql.run(
      "INSERT OR REPLACE INTO relays (relay, subject, privileged, sockets) VALUES (?, ?, ?, ?)",
      relay,
      subject,
      privileged ? 1 : 0,
      sockets,
    );
  }

  #apply(relay: string, subject: string, privileged: boolean, by: number): void {
    const totals = this.#relays.get(relay) ?? { name: relay, sockets: 0, privileged: 0 };
    totals.sockets += by;
    if (privileged) totals.privileged += by;
    if (totals.sockets > 0) this.#relays.set(relay, totals);
    else this.#relays.delete(relay);
    if (subject === "") return;
    const n = (this.#subjects.get(subject) ?? 0) + by;
    if (n > 0) this.#subjects.set(subject, n);
    else this.#subjects.delete(subject);
  }
}
