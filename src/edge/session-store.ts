import { migrate } from "../storage/migrate";
import { Sql } from "../storage/sql";

/**
 * Append-only migrations of a session's database (../storage/migrate.ts). Only sessions write
 * one; a relay keeps everything in its sockets' attachments.
 */
export const SESSION_MIGRATIONS: readonly string[] = [
  `
  -- The connection: who opened it (the token's rights are checked at each subscribe).
  CREATE TABLE connection (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

  -- One row per subscription and topic: a live tail, a consumer, a prefix pattern (its row names
  -- the pattern) and each topic the pattern follows ('match').
  CREATE TABLE streams (
    id TEXT NOT NULL,
    topic TEXT NOT NULL,
    kind TEXT NOT NULL,
    subscription TEXT,
    epoch TEXT,
    last_sent INTEGER NOT NULL,
    PRIMARY KEY (id, topic)
  ) WITHOUT ROWID;
  `,
];

export type StreamKind = "tail" | "pattern" | "match" | "consumer";

/** One row of `streams`: where a subscription stands on one topic. */
export interface Stream {
  id: string;
  topic: string;
  kind: StreamKind;
  subscription: string | null;
  /** Tails: the epoch followed; `null` while the topic does not exist yet. */
  epoch: string | null;
  /** Tails: the last seq sent. */
  lastSent: number;
}

/** Who opened the session, as the worker handed it over. */
export interface Connection {
  grants: { pattern: string; rights: string[] }[];
  subject: string | null;
  privileged: boolean;
  expiresAt: number | null;
  maxSubscriptions: number;
}

/** How long a tail's position may wait in memory before it is written (a timer keeps the object up). */
const SAVE_DELAY_MS = 1_000;

/**
 * A session's database: its connection and its streams, mirrored in memory. Positions of live
 * tails move with every batch, so they are written at most once a second, not per message.
 */
export class SessionStore {
  readonly #storage: DurableObjectStorage;
  readonly #sql: Sql;
  #streams: Map<string, Stream> | null = null;
  #connection: Connection | null | undefined;
  readonly #unsaved = new Set<Stream>();
  #saving = false;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = new Sql(storage.sql);
  }

  open(connection: Connection): void {
    this.#migrate();
    this.#sql.run("DELETE FROM streams");
    this.#sql.run(
      "INSERT OR REPLACE INTO connection (key, value) VALUES ('it', ?)",
      JSON.stringify(connection),
    );
    this.#connection = connection;
    this.#streams = new Map();
  }

  get connection(): Connection | null {
    if (this.#connection === undefined) {
      this.#migrate();
      const row = this.#sql.one<{ value: string }>("SELECT value FROM connection WHERE key = 'it'");
      this.#connection = row ? (JSON.parse(row.value) as Connection) : null;
    }
    return this.#connection;
  }

  /** Every stream, keyed `id topic`. */
  all(): Stream[] {
    return [...this.#index().values()];
  }

  of(id: string): Stream[] {
    return this.all().filter((s) => s.id === id);
  }

  put(stream: Stream): void {
    this.#sql.run(
      "INSERT OR REPLACE INTO streams (id, topic, kind, subscription, epoch, last_sent) VALUES (?, ?, ?, ?, ?, ?)",
      stream.id,
      stream.topic,
      stream.kind,
      stream.subscription,
      stream.epoch,
      stream.lastSent,
    );
    this.#index().set(key(stream), stream);
  }

  remove(stream: Stream): void {
    this.#sql.run("DELETE FROM streams WHERE id = ? AND topic = ?", stream.id, stream.topic);
    this.#index().delete(key(stream));
    this.#unsaved.delete(stream);
  }

  /** Records a tail's new position in memory now, and in SQLite within a second. */
  moved(stream: Stream): void {
    this.#unsaved.add(stream);
    if (this.#saving) return;
    this.#saving = true;
    setTimeout(() => {
      this.#saving = false;
      for (const s of this.#unsaved) {
        this.#sql.run(
          "UPDATE streams SET last_sent = ?, epoch = ? WHERE id = ? AND topic = ?",
          s.lastSent,
          s.epoch,
          s.id,
          s.topic,
        );
      }
      this.#unsaved.clear();
    }, SAVE_DELAY_MS);
  }

  /** The session is over: nothing of it stays. */
  async erase(): Promise<void> {
    this.#unsaved.clear();
    await this.#storage.deleteAll();
    this.#streams = new Map();
    this.#connection = null;
  }

  #index(): Map<string, Stream> {
    if (this.#streams) return this.#streams;
    this.#migrate();
    const rows = this.#sql.all<{
      id: string;
      topic: string;
      kind: StreamKind;
      subscription: string | null;
      epoch: string | null;
      last_sent: number;
    }>("SELECT id, topic, kind, subscription, epoch, last_sent FROM streams");
    this.#streams = new Map(
      rows.map((r) => {
        const stream: Stream = {
          id: r.id,
          topic: r.topic,
          kind: r.kind,
          subscription: r.subscription,
          epoch: r.epoch,
          lastSent: r.last_sent,
        };
        return [key(stream), stream];
      }),
    );
    return this.#streams;
  }

  #migrate(): void {
    migrate(this.#sql, (fn) => this.#storage.transactionSync(fn), SESSION_MIGRATIONS, "session");
  }
}

const key = (stream: { id: string; topic: string }) => `${stream.id} ${stream.topic}`;
