import type { StreamConfig } from "../protocol/streams";
import type { Sql } from "../storage/sql";

/** What a topic knows about itself as a Durable Stream (the `stream` table, one row). */
export interface StreamState {
  config: StreamConfig;
  /** No more appends; readers are told at the end. */
  closed: boolean;
  /** The producer whose request closed the stream, so that its retry is a duplicate. */
  closedBy: { id: string; epoch: number; seq: number } | null;
  /** The last `Stream-Seq` accepted, compared byte-wise. */
  streamSeq: string | null;
  /** When a read or an append last renewed the sliding TTL, epoch ms. */
  touchedAt: number;
  /** The stream this one was forked from, and where: the fork holds its own copy. */
  forkedFrom: { source: string; offset: number; subOffset: number } | null;
  /** Streams forked from this one that still exist: while any does, a delete is soft. */
  forks: string[];
  /** Deleted while forks existed: answers 410 until the last fork is gone, then erases itself. */
  deleted: boolean;
}

/** The state of a topic that was never created as a stream (a native topic read over `/ds`). */
export const NATIVE_STREAM: StreamState = {
  config: { contentType: "application/octet-stream", ttlSeconds: null, expiresAt: null },
  closed: false,
  closedBy: null,
  streamSeq: null,
  touchedAt: 0,
  forkedFrom: null,
  forks: [],
  deleted: false,
};

/** The sliding TTL is written at most this often, so a burst of reads is not a burst of writes. */
const TOUCH_EVERY_MS = 500;

/**
 * The `stream` table: a topic's Durable Streams state (content type, closed, expiry, forks), kept
 * in memory as a cache of its one row. A topic without the row is a native topic, which `/ds`
 * reads as an open binary stream.
 */
export class StreamStates {
  readonly #sql: Sql;
  /** `null` while the topic has no stream row. */
  state: StreamState | null = null;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  load(): void {
    const row = this.#sql.one<{ value: string }>("SELECT value FROM stream WHERE key = 'state'");
    this.state = row ? JSON.parse(row.value) : null;
  }

  unload(): void {
    this.state = null;
  }

  /** The stream's state, or the native default. */
  get current(): StreamState {
    return this.state ?? NATIVE_STREAM;
  }

  save(state: StreamState): void {
    this.state = state;
    this.#sql.run("INSERT OR REPLACE INTO stream (key, value) VALUES ('state', ?)", JSON.stringify(state));
  }

  /** When the stream expires, epoch ms, or `null` when it never does. */
  expiresAt(): number | null {
    const state = this.state;
    if (!state || state.deleted) return null;
    const { ttlSeconds, expiresAt } = state.config;
    if (expiresAt !== null) return expiresAt;
    return ttlSeconds === null ? null : state.touchedAt + ttlSeconds * 1000;
  }

  /** Renews a sliding TTL (reads and appends do; HEAD does not). */
  touch(now: number): void {
    const state = this.state;
    if (!state || state.config.ttlSeconds === null) return;
    if (now - state.touchedAt < TOUCH_EVERY_MS) return;
    this.save({ ...state, touchedAt: now });
  }
}
