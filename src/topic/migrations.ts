/**
 * Append-only numbered schema migrations of a topic's database, run by
 * `migrate` (../storage/migrate.ts). Never edit a released migration: add the
 * next one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the log, idempotency keys, subscriptions and their delivery state.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

  -- No secondary index: reads go by seq and retention deletes the oldest seqs.
  CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    deliver_at INTEGER NOT NULL,
    key TEXT,
    attributes TEXT,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL
  );

  CREATE TABLE dedup (
    idempotency_key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX dedup_by_expiry ON dedup (expires_at);

  CREATE TABLE subscriptions (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    config TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    counters TEXT NOT NULL
  ) WITHOUT ROWID;

  -- One row per delivered batch; seqs holds the batch's still-unacked seqs.
  CREATE TABLE leases (
    id INTEGER PRIMARY KEY,
    subscription TEXT NOT NULL,
    consumer TEXT,
    expires_at INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    seqs TEXT NOT NULL
  );

  -- Messages below a subscription's cursor that still need a delivery:
  -- redeliveries, delayed messages and messages held back by ordering.
  -- available_at is NULL while the message is leased.
  CREATE TABLE retries (
    subscription TEXT NOT NULL,
    seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    available_at INTEGER,
    PRIMARY KEY (subscription, seq)
  ) WITHOUT ROWID;
  CREATE INDEX retries_by_due ON retries (available_at);

  -- Messages out of attempts, waiting to be copied to the dead-letter topic.
  CREATE TABLE dead_letters (
    subscription TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (subscription, seq)
  ) WITHOUT ROWID;
  `,
  // 2: leases are mirrored in memory, which finds the lowest seq itself.
  "ALTER TABLE leases DROP COLUMN first_seq;",
  // 3: a message counts as dead-lettered when it runs out of attempts (no longer when its copy
  // is made), so the copies still waiting are counted now, once.
  `
  UPDATE subscriptions SET counters = json_set(
    counters,
    '$.deadLettered',
    coalesce(json_extract(counters, '$.deadLettered'), 0)
      + (SELECT COUNT(*) FROM dead_letters d WHERE d.subscription = subscriptions.name)
  )
  WHERE EXISTS (SELECT 1 FROM dead_letters d WHERE d.subscription = subscriptions.name);
  `,
  // 4: push subscriptions, time to live and redrive. A message may expire (expires_at, NULL for
  // never); a push subscription keeps its signing secrets and its receiver's health in its own
  // row; a redrive remembers how far it has read its subscription's dead-letter topic.
  `
  ALTER TABLE messages ADD COLUMN expires_at INTEGER;

  CREATE TABLE push_state (
    subscription TEXT PRIMARY KEY,
    secrets TEXT NOT NULL,
    health TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE redrives (
    subscription TEXT PRIMARY KEY,
    dead_letter_topic TEXT NOT NULL,
    epoch TEXT NOT NULL,
    after INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 5: Durable Streams: the topic as a stream (content type, closed, expiry, forks) and the
  // idempotent producers that append to it.
  `
  CREATE TABLE stream (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

  -- One row per producer id: its epoch, the seq of its last accepted request, and the log seq
  -- that request ended at.
  CREATE TABLE producers (
    id TEXT PRIMARY KEY,
    epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 6: request/reply: where replies go and what ties them to their request, first-class on a message;
  // and the routes' state: per route, the next seq to forward and its retries (./route-state.ts).
  `
  ALTER TABLE messages ADD COLUMN reply_to TEXT;
  ALTER TABLE messages ADD COLUMN correlation_id TEXT;

  CREATE TABLE routes (
    name TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    retry_at INTEGER NOT NULL,
    counters TEXT NOT NULL,
    last_error TEXT
  ) WITHOUT ROWID;
  `,
  // 7: the live tails the topic's relays and sessions hold, counted by edge object and by who
  // opened them, so the topic's socket caps hold across them (./relay-rows.ts); and the
  // consumers sessions hold.
  `
  CREATE TABLE relays (
    relay TEXT NOT NULL,
    subject TEXT NOT NULL,
    privileged INTEGER NOT NULL,
    sockets INTEGER NOT NULL,
    PRIMARY KEY (relay, subject, privileged)
  ) WITHOUT ROWID;

  -- Consumers of the topic's subscriptions that live in sessions (./remote-consumer-rows.ts).
  CREATE TABLE remote_consumers (
    consumer TEXT PRIMARY KEY,
    edge TEXT NOT NULL,
    subscription TEXT NOT NULL,
    max_in_flight INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // The topic as an SQS queue: the queue's own settings (default delay and wait, size limit),
  // one row (./queue-settings.ts).
  `
  CREATE TABLE queue (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
