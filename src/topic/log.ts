import { fail, ok, type Result } from "../protocol/errors";
import type { PublishInput, PublishReceipt, TopicConfig } from "../protocol/topic-rpc";
import type { Sql } from "../storage/sql";
import { DEFAULT_TOPIC_CONFIG, storedTopicConfig } from "./config";
import { IdempotencyKeys } from "./idempotency-keys";
import { fitting, type HeadWithBody, type MessageHead, type MessageRow, SIZE } from "./message-rows";
import { Meter } from "./rates";

/** What a topic knows about itself, kept in the `meta` table. */
export interface TopicMeta {
  name: string;
  epoch: string;
  createdAt: number;
  config: TopicConfig;
  /** Whether the Registry has been told about this topic. */
  registered: boolean;
}

/** Counters of the log, rewritten (one row) with every publish transaction. */
export interface LogCounters {
  nextSeq: number;
  published: number;
  duplicates: number;
  dropped: number;
  count: number;
  bytes: number;
}

const EMPTY_COUNTERS: LogCounters = {
  nextSeq: 1,
  published: 0,
  duplicates: 0,
  dropped: 0,
  count: 0,
  bytes: 0,
};

/**
 * (A little over 300 lines: this is the one owner of the `messages` table, so appends, reads
 * and retention's deletions stay together rather than spread over files that all write it.)
 *
 * The ordered message log of one topic (the `meta` and `messages` tables): appends with
 * idempotency keys (./idempotency-keys.ts), reads by seq, and retention. Callers run writes
 * inside a transaction.
 */
export class Log {
  readonly #sql: Sql;
  readonly keys: IdempotencyKeys;
  meta: TopicMeta | null = null;
  /** Goes up each time retention deletes messages: caches of counts over the log check it. */
  deletions = 0;
  counters: LogCounters = { ...EMPTY_COUNTERS };
  /** Messages published per second, fed each time the counters are written. */
  publishRate = new Meter();

  constructor(sql: Sql) {
    this.#sql = sql;
    this.keys = new IdempotencyKeys(sql);
  }

  /** Forgets what memory holds: the database has no topic. */
  unload(): void {
    this.meta = null;
    this.counters = { ...EMPTY_COUNTERS };
    this.publishRate = new Meter();
  }

  /** (Re)reads meta and counters from SQLite: memory is only a cache of them. */
  load(): void {
    const rows = this.#sql.all<{ key: string; value: string }>("SELECT key, value FROM meta");
    const byKey = new Map(rows.map((row) => [row.key, row.value]));
    const topic = byKey.get("topic");
    const counters = byKey.get("counters");
    const meta: TopicMeta | null = topic ? JSON.parse(topic) : null;
    // Topics stored before routes and schemas existed have neither.
    if (meta) meta.config = storedTopicConfig(meta.config);
    this.meta = meta;
    this.counters = counters ? JSON.parse(counters) : { ...EMPTY_COUNTERS };
    this.publishRate.observe(this.counters.published, Date.now());
  }

  create(name: string, now: number, epoch: string, config: TopicConfig = DEFAULT_TOPIC_CONFIG): TopicMeta {
    this.meta = { name, epoch, createdAt: now, config, registered: false };
    this.counters = { ...EMPTY_COUNTERS };
    this.saveMeta();
    this.saveCounters();
    return this.meta;
  }

  saveMeta(): void {
    this.#sql.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('topic', ?)", JSON.stringify(this.meta));
  }

  /** Writes the counters row: once per publish transaction, not once per batch in it. */
  saveCounters(): void {
    this.#sql.run(
      "INSERT OR REPLACE INTO meta (key, value) VALUES ('counters', ?)",
      JSON.stringify(this.counters),
    );
    this.publishRate.observe(this.counters.published, Date.now());
  }

  /**
   * When the oldest retained message at or after `seq` was published, or `null` when there is
   * none: one row read through the primary key (a subscription's oldest unacked message).
   */
  publishedAtFrom(seq: number): number | null {
    return this.#sql.number("SELECT published_at FROM messages WHERE seq >= ? ORDER BY seq LIMIT 1", seq);
  }

  /**
   * Appends one batch atomically (the caller's transaction), or nothing.
   * `protectedFrom` is the lowest seq some subscription has not acked: under
   * the `reject` policy retention never deletes at or above it. The caller
   * writes the counters with `saveCounters()` once its transaction is done.
   */
  append(
    messages: PublishInput[],
    now: number,
    protectedFrom: number,
    newId: () => string,
  ): Result<PublishReceipt[]> {
    const config = (this.meta as TopicMeta).config;
    const receipts: PublishReceipt[] = [];
    const fresh: PublishInput[] = [];
    const seen = new Map<string, PublishReceipt>();
    // Resolve duplicates first, so a batch that is refused for room writes nothing.
    for (const message of messages) {
      const key = message.idempotencyKey;
      const earlier = key === undefined ? undefined : (seen.get(key) ?? this.keys.lookup(key, now));
      if (earlier) {
        receipts.push({ ...earlier, duplicate: true });
        continue;
      }
      const receipt = { seq: this.counters.nextSeq + fresh.length, id: newId(), duplicate: false };
      if (key !== undefined) seen.set(key, receipt);
      receipts.push(receipt);
      fresh.push(message);
    }
    const bytes = fresh.reduce((sum, m) => sum + m.body.byteLength, 0);
    const room = this.#makeRoom(fresh.length, bytes, protectedFrom, config);
    if (!room.ok) return room;

    for (const [i, message] of messages.entries()) {
      const receipt = receipts[i] as PublishReceipt;
      if (receipt.duplicate) continue;
      const attributes = Object.keys(message.attributes).length ? JSON.stringify(message.attributes) : null;
      this.#sql.run(
        "INSERT INTO messages (seq, id, published_at, deliver_at, expires_at, key, attributes, content_type, body, reply_to, correlation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        receipt.seq,
        receipt.id,
        now,
        Math.max(now, message.deliverAt ?? now + (message.delay ?? 0)),
        message.expiresAt ?? (message.ttl === undefined ? null : now + message.ttl),
        message.key ?? null,
        attributes,
        message.contentType,
        message.body,
        message.replyTo ?? null,
        message.correlationId ?? null,
      );
      if (message.idempotencyKey !== undefined) {
        this.keys.remember(message.idempotencyKey, receipt, now + config.dedupWindow);
      }
    }
    const c = this.counters;
    c.nextSeq += fresh.length;
    c.published += fresh.length;
    c.duplicates += messages.length - fresh.length;
    c.count += fresh.length;
    c.bytes += bytes;
    return ok(receipts);
  }

  /**
   * Deletes the oldest messages so that `count` more messages of `bytes` fit
   * the count and size limits, or refuses (`topic_full`) when that would
   * delete a message a subscription has not acked and the policy is `reject`.
   */
  #makeRoom(count: number, bytes: number, protectedFrom: number, config: TopicConfig): Result<void> {
    const { maxMessages, maxBytes } = config.retention;
    if ((maxMessages !== null && count > maxMessages) || (maxBytes !== null && bytes > maxBytes)) {
      return fail("topic_full", "the batch alone is larger than the topic's retention limits");
    }
    let excessCount = maxMessages === null ? 0 : this.counters.count + count - maxMessages;
    let excessBytes = maxBytes === null ? 0 : this.counters.bytes + bytes - maxBytes;
    if (excessCount <= 0 && excessBytes <= 0) return ok(undefined);

    const victims: { seq: number; size: number }[] = [];
    let after = 0;
    while (excessCount > 0 || excessBytes > 0) {
      const rows = this.#sql.all<{ seq: number; size: number }>(
        "SELECT seq, length(body) AS size FROM messages WHERE seq > ? ORDER BY seq LIMIT 500",
        after,
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        if (excessCount <= 0 && excessBytes <= 0) break;
        victims.push(row);
        excessCount--;
        excessBytes -= row.size;
        after = row.seq;
      }
    }
    const last = victims.at(-1);
    if (!last) return ok(undefined);
    const lost = victims.filter((v) => v.seq >= protectedFrom).length;
    if (lost > 0 && config.onFull === "reject") {
      return fail(
        "topic_full",
        `the topic is at its retention limit and its oldest messages are not acked by every subscription; ack them, raise the limits, or set onFull to "drop-oldest"`,
      );
    }
    this.deleteThrough(last.seq);
    this.counters.dropped += lost;
    return ok(undefined);
  }

  /** Deletes every message with seq <= `seq`, keeping the counters true. */
  deleteThrough(seq: number): number {
    const gone = this.#sql.one<{ n: number; size: number | null }>(
      "SELECT COUNT(*) AS n, SUM(length(body)) AS size FROM messages WHERE seq <= ?",
      seq,
    );
    if (!gone || gone.n === 0) return 0;
    this.#sql.run("DELETE FROM messages WHERE seq <= ?", seq);
    this.deletions++;
    this.counters.count -= gone.n;
    this.counters.bytes -= gone.size ?? 0;
    this.saveCounters();
    return gone.n;
  }

  /**
   * Age retention, bounded per call. Under `reject` it stops below
   * `protectedFrom`; under `drop-oldest` it deletes unacked messages too and
   * counts them. Returns how many it deleted.
   */
  expire(now: number, protectedFrom: number, limit = 5_000): number {
    const { maxAge } = (this.meta as TopicMeta).config.retention;
    if (maxAge === null) return 0;
    const policy = (this.meta as TopicMeta).config.onFull;
    const bound = policy === "reject" ? protectedFrom : Number.MAX_SAFE_INTEGER;
    const last = this.#sql.number(
      "SELECT MAX(seq) FROM (SELECT seq FROM messages WHERE seq < ? AND published_at <= ? ORDER BY seq LIMIT ?)",
      bound,
      now - maxAge,
      limit,
    );
    if (last === null) return 0;
    const lost = Math.max(0, last - protectedFrom + 1);
    const deleted = this.deleteThrough(last);
    if (lost > 0) {
      this.counters.dropped += Math.min(lost, deleted);
      this.saveCounters();
    }
    return deleted;
  }

  /** When the next age-retention deletion is due, or `null` when none is. */
  nextExpiry(protectedFrom: number): number | null {
    const meta = this.meta as TopicMeta;
    const { maxAge } = meta.config.retention;
    if (maxAge === null) return null;
    const bound = meta.config.onFull === "reject" ? protectedFrom : Number.MAX_SAFE_INTEGER;
    const oldest = this.#sql.one<{ published_at: number }>(
      "SELECT published_at FROM messages WHERE seq < ? ORDER BY seq LIMIT 1",
      bound,
    );
    return oldest ? oldest.published_at + maxAge : null;
  }

  /**
   * Messages with seq > `after`, oldest first: at most `limit` of them and `maxBytes` of stored
   * bytes (body and attributes), but always the first one, however large. Sizes are read before
   * bodies, so a page never loads a body it will not return.
   */
  read(after: number, limit: number, maxBytes: number): MessageRow[] {
    const sizes = this.#sql.all<{ seq: number; size: number }>(
      `SELECT seq, ${SIZE} AS size FROM messages WHERE seq > ? ORDER BY seq LIMIT ?`,
      after,
      limit,
    );
    const last = sizes[fitting(sizes, maxBytes) - 1];
    if (!last) return [];
    return this.#sql.all<MessageRow>(
      "SELECT * FROM messages WHERE seq > ? AND seq <= ? ORDER BY seq",
      after,
      last.seq,
    );
  }

  /** What delivery decides on, without bodies: messages with seq > `after`, oldest first. */
  heads(after: number, limit: number): MessageHead[] {
    return this.#sql.all<MessageHead>(
      `SELECT seq, deliver_at, expires_at, key, attributes, ${SIZE} AS size FROM messages WHERE seq > ? ORDER BY seq LIMIT ?`,
      after,
      limit,
    );
  }

  /**
   * Heads with their bodies, for filters that look at bodies: messages with seq > `after`, oldest
   * first, at most `limit` of them and `maxBytes` of stored bytes (but always the first one).
   */
  headsWithBodies(after: number, limit: number, maxBytes: number): HeadWithBody[] {
    const sizes = this.#sql.all<{ seq: number; size: number }>(
      `SELECT seq, ${SIZE} AS size FROM messages WHERE seq > ? ORDER BY seq LIMIT ?`,
      after,
      limit,
    );
    const last = sizes[fitting(sizes, maxBytes) - 1];
    if (!last) return [];
    return this.#sql.all<HeadWithBody>(
      `SELECT seq, deliver_at, expires_at, key, attributes, ${SIZE} AS size, content_type, body FROM messages
       WHERE seq > ? AND seq <= ? ORDER BY seq`,
      after,
      last.seq,
    );
  }

  /** Whole messages by seq (a seq retention deleted is absent). */
  get(seqs: number[]): Map<number, MessageRow> {
    if (seqs.length === 0) return new Map();
    const rows = this.#sql.all<MessageRow>(
      "SELECT * FROM messages WHERE seq IN (SELECT value FROM json_each(?))",
      JSON.stringify(seqs),
    );
    return new Map(rows.map((row) => [row.seq, row]));
  }

  /** Sizes of stored messages, by seq (a seq retention deleted is absent). */
  sizes(seqs: number[]): Map<number, MessageHead> {
    if (seqs.length === 0) return new Map();
    const rows = this.#sql.all<MessageHead>(
      `SELECT seq, deliver_at, expires_at, key, attributes, ${SIZE} AS size FROM messages WHERE seq IN (SELECT value FROM json_each(?))`,
      JSON.stringify(seqs),
    );
    return new Map(rows.map((row) => [row.seq, row]));
  }

  firstSeq(): number | null {
    return this.#sql.number("SELECT MIN(seq) FROM messages");
  }

  /** The first seq published at or after `time` (the next seq when none is). */
  seqAtTime(time: number): number {
    return (
      this.#sql.number("SELECT MIN(seq) FROM messages WHERE published_at >= ?", time) ?? this.counters.nextSeq
    );
  }
}
