/**
 * The RPC surface of the Topic Durable Object: inputs arrive validated by the
 * worker (durations already in ms), expected failures come back as `Result`s.
 * (Over 300 lines of types only: the one definition of the surface both sides compile against.)
 */
import type { FilterPattern } from "./filter-pattern.js";
import type { WireMessage } from "./message.js";

export type FullPolicy = "reject" | "drop-oldest";

/** A JSON Schema (2020-12) document: an object, or `true`/`false`. */
export type JsonSchema = { [key: string]: string | number | boolean | null | object } | boolean;

/**
 * A route: every message of the topic that its filter matches is forwarded to the topic `to`,
 * reshaped by its transform, in seq order and exactly once (DESIGN.md §3, "Routes").
 */
export interface RouteConfig {
  name: string;
  /** The topic messages are forwarded to. */
  to: string;
  filter: FilterPattern | null;
  /** A JSONata expression over `{data, attributes, key, …}` giving `{data, attributes?, key?}`. */
  transform: string | null;
  /** Tries of one message before it goes to `deadLetterTopic` (or is counted `failed`). */
  maxAttempts: number;
  backoff: { min: number; max: number };
  deadLetterTopic: string | null;
}

export interface TopicConfig {
  retention: {
    /** Oldest message kept, ms; `null` = no age limit. */
    maxAge: number | null;
    maxMessages: number | null;
    maxBytes: number | null;
  };
  onFull: FullPolicy;
  /** How long an idempotency key is remembered, ms. */
  dedupWindow: number;
  /** Where messages are forwarded (in this order of names); none by default. */
  routes: RouteConfig[];
  /** What a JSON message must look like to be published; `null` = anything. */
  schema: JsonSchema | null;
}

/** A partial update of a topic's config; omitted fields keep their value (`routes` is replaced whole). */
export interface TopicConfigPatch {
  retention?: Partial<TopicConfig["retention"]>;
  onFull?: FullPolicy;
  dedupWindow?: number;
  routes?: RouteConfig[];
  schema?: JsonSchema | null;
}

/** What a route has done, and how far behind it is (DESIGN.md §3, "Routes"). */
export interface RouteStats {
  name: string;
  /** Messages published and not yet forwarded (or passed over by the filter). */
  lag: number;
  /** The next seq to forward. */
  cursor: number;
  forwarded: number;
  /** Messages the filter passed over. */
  filtered: number;
  /** Messages given up after `maxAttempts` without a dead-letter topic. */
  failed: number;
  /** Messages given up after `maxAttempts` and copied to the dead-letter topic. */
  deadLettered: number;
  /** Copies not made because the message was `MAX_HOPS` copies deep already (a loop). */
  looped: number;
  /** Tries of the message at the cursor so far (0 when nothing failed). */
  attempts: number;
  /** When the next try is due, after a failure; `null` when none is waiting. */
  retryAt: number | null;
  lastError: { at: number; seq: number; code: string; detail: string } | null;
}

export interface TopicStats {
  messages: number;
  bytes: number;
  /** Oldest retained seq, or `null` when the log is empty. */
  firstSeq: number | null;
  /** Newest seq ever assigned (0 before the first publish). */
  lastSeq: number;
  published: number;
  duplicates: number;
  /** Messages deleted by `drop-oldest` before every subscription acked them. */
  dropped: number;
  subscriptions: number;
  /** WebSockets open on the topic now (consumers and live tails), those its relays hold included. */
  sockets: number;
  /** Relays holding live tails of the topic now, and how many sockets they hold. */
  relays: { count: number; sockets: number };
  /** Log reads and pulls parked in a long-poll now. */
  longPolls: number;
  /** Each route's progress, in the config's order. */
  routes: RouteStats[];
}

/** What this object has cost since it last started (memory only: resets on eviction). */
export interface TopicUsage {
  /** RPC calls and WebSocket upgrades, each billed as a Durable Object request. */
  requests: number;
  rowsRead: number;
  rowsWritten: number;
  /** SQL statements run: where most of the object's CPU time goes. */
  statements: number;
  since: number;
}

/**
 * How messages flow through a topic now. Measured, not kept: rates live in the object's memory
 * and start again from 0 when it restarts (DESIGN.md §3, "Flow").
 */
export interface TopicFlow {
  /** Messages published per second, averaged over about the last minute. */
  publishRate: number;
}

export interface TopicInfo {
  name: string;
  epoch: string;
  createdAt: number;
  config: TopicConfig;
  stats: TopicStats;
  flow: TopicFlow;
  usage: TopicUsage;
}

export type StartAt = "earliest" | "latest" | { seq: number } | { time: number };

/** How a push subscription delivers: to an https URL, or to a Worker over a service binding. */
export interface PushConfig {
  /** The receiver's https URL; `null` when `service` is set. */
  url: string | null;
  /** The name of a service binding of the broker's worker; `null` when `url` is set. */
  service: string | null;
  /** Longest wait for one answer, ms; a delivery that takes longer is a failure. */
  timeout: number;
  /** Most deliveries waiting for an answer at once. */
  maxInFlight: number;
  /** Most deliveries started per second; `null` = no limit. */
  ratePerSecond: number | null;
  /** `json`: the message as on the wire; `raw`: its own bytes and content type. */
  format: "json" | "raw";
}

/** What changes a subscription's push: its config, and the one-off acts on its secret. */
export interface PushPatch extends Partial<PushConfig> {
  /** Make a new signing secret; the old one keeps signing for `secretGrace`. */
  rotateSecret?: boolean;
  /** How long the old secret keeps signing after a rotation, ms (default 24 h). */
  secretGrace?: number;
}

/** How a push subscription's receiver has been answering, kept with the subscription. */
export interface PushHealth {
  /** The last HTTP status the receiver answered with; `null` before any, or after a network error. */
  lastStatus: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  /** Failed deliveries in a row; 0 after a success. */
  consecutiveFailures: number;
  /** Failed deliveries since push was configured (a counter: it only goes up). */
  failures: number;
}

export interface SubscriptionConfig {
  /** Delivery stops (every mode) while true; the backlog accumulates. */
  paused: boolean;
  /** Deliver by push (webhook or service binding) instead of to pulls and sockets; `null` = off. */
  push: PushConfig | null;
  ackTimeout: number;
  /** Deliveries before a message is dead-lettered (or dropped); `null` = forever. */
  maxAttempts: number | null;
  backoff: { min: number; max: number };
  deadLetterTopic: string | null;
  /** Only messages this pattern matches are delivered (see ./filter-pattern.ts). */
  filter: FilterPattern | null;
  ordered: boolean;
}

export interface SubscriptionConfigPatch extends Partial<Omit<SubscriptionConfig, "push">> {
  /** Merged into the current push config; `null` switches push off. */
  push?: PushPatch | null;
  /** Only used when the subscription is created; move a cursor with `seek`. */
  startAt?: StartAt;
}

/** What a subscription has done since it was created, kept in its row. */
export interface SubscriptionCounters {
  delivered: number;
  redelivered: number;
  acked: number;
  nacked: number;
  deadLettered: number;
  /** Messages given up after `maxAttempts` with no dead-letter topic. */
  discarded: number;
  /** Messages whose time to live ran out before they were acked (never dead-lettered). */
  expired: number;
  /** Messages acked at once by a purge. */
  purged: number;
  /** Dead-lettered messages given back to the subscription by a redrive. */
  redriven: number;
}

export interface SubscriptionStats extends SubscriptionCounters {
  /** Messages not yet acked (in flight, waiting for a retry, or never delivered). */
  backlog: number;
  inFlight: number;
  /** Every seq below it is acked. */
  ackFloor: number;
  /** Next seq to be delivered for the first time. */
  cursor: number;
  consumers: number;
  /** Dead letters not given back: `deadLettered` less `redriven` (DESIGN.md §3, "Flow"). */
  deadLetterDepth: number;
  /** How the receiver of a push subscription has been answering. */
  push?: PushHealth;
}

/** How messages flow through a subscription now: measured when asked, not kept (see {@link TopicFlow}). */
export interface SubscriptionFlow {
  /** Ms since the oldest message the subscription has not acked was published; `null` when none waits. */
  oldestUnackedAge: number | null;
  /** Deliveries (first and repeated) per second, averaged over about the last minute. */
  deliveryRate: number;
  /** Acks per second, averaged over about the last minute. */
  ackRate: number;
}

export interface SubscriptionInfo {
  name: string;
  topic: string;
  createdAt: number;
  config: SubscriptionConfig;
  stats: SubscriptionStats;
  flow: SubscriptionFlow;
}

/**
 * A topic's numbers and its subscriptions' in one call, without config: what `/v1/metrics` and
 * the Analytics Engine data points are made of.
 */
export interface TopicMetrics {
  topic: Omit<TopicInfo, "config">;
  subscriptions: Omit<SubscriptionInfo, "config">[];
}

/** One message to publish, validated by the caller. */
export interface PublishInput {
  body: Uint8Array;
  contentType: string;
  attributes: Record<string, string>;
  key?: string;
  /** Delay before delivery, ms. */
  delay?: number;
  /** When to deliver, epoch ms (instead of `delay`). */
  deliverAt?: number;
  /** Time to live from publishing, ms: not delivered once it has passed. */
  ttl?: number;
  /** When the message expires, epoch ms (instead of `ttl`). */
  expiresAt?: number;
  idempotencyKey?: string;
  /** Where replies go: a topic, or an inbox (`_reply.…`). */
  replyTo?: string;
  correlationId?: string;
}

/** How a publish treats the topic: the callers that ask for more than storing (routes, requests). */
export interface PublishOptions {
  /** Refuse (`not_found`) rather than create a topic that does not exist: a route's target. */
  ifExists?: boolean;
  /** Refuse (`no_responders`) unless a subscription's filter or a route's filter takes the message. */
  needResponders?: boolean;
}

export interface PublishReceipt {
  seq: number;
  id: string;
  duplicate: boolean;
}

export interface ReadOptions {
  /** Return messages with seq > after; omitted = from the oldest retained. */
  after?: number;
  limit: number;
  /** Long-poll up to this many ms when nothing is there yet. */
  wait: number;
  /**
   * Wait for a topic that does not exist yet instead of answering `not_found` (an SSE stream
   * opened before the first publish): answered with `epoch: null` when it still does not exist.
   */
  waitForTopic?: boolean;
}

export interface ReadResult {
  messages: WireMessage[];
  /** Pass as `after` to continue. */
  next: number;
  /** `null` only for `waitForTopic` reads of a topic that does not exist yet. */
  epoch: string | null;
}

export interface PullOptions {
  max: number;
  wait: number;
  /** The lease length of this pull, ms; omitted = the subscription's `ackTimeout` (an SQS receive sets it). */
  ackTimeout?: number;
}

export interface PullResult {
  messages: WireMessage[];
  /** The topic's epoch: send it back with the acks of these messages. */
  epoch: string;
}

/** What settles messages: their seqs, and the epoch they were delivered in (refused when not current). */
export interface AckInput {
  seqs: number[];
  epoch?: string;
}

export interface NackInput extends AckInput {
  /** Redeliver no sooner than this, ms; omitted = the subscription's backoff. */
  delay?: number;
}

export interface ExtendInput extends AckInput {
  /** The new lease length from now, ms; omitted = the subscription's `ackTimeout`. */
  ackTimeout?: number;
}

export type SeekTarget = "earliest" | "latest" | number | { time: number };

/** What a purge did: how many messages it acked at once. */
export interface PurgeResult {
  purged: number;
}

/** What a redrive did: how many dead letters went back; `more` when another call has more to do. */
export interface RedriveResult {
  redriven: number;
  /** Copies whose original message is gone from the log (retention): they stay where they are. */
  skipped: number;
  more: boolean;
}

/** One page of a topic's dead-letter copies of another topic's subscription. */
export interface DeadLetterPage {
  /** The original seqs of the copies found, in the order of the copies. */
  seqs: number[];
  /** Pass as `after` to continue. */
  next: number;
  /** Whether the log goes on after `next`. */
  more: boolean;
  epoch: string;
}
