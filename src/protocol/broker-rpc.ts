/**
 * The RPC surface of the broker for other Workers (DESIGN.md §1, "Workers without HTTP"): what
 * `env.BROKER` offers through a service binding to the `Broker` entrypoint. Answers are the HTTP
 * API's; a refusal is thrown as an `Error` whose message is `<code>: <detail>` with the code of
 * the HTTP API (RPC keeps an error's message, not its fields). Published as the types of
 * `edge-broker/worker`.
 */
import type { ErrorCode } from "./errors";
import type { WireMessage } from "./message";
import type { PublishReceipt, PullResult, ReadResult, SubscriptionInfo, TopicInfo } from "./topic-rpc";

export type { ErrorCode, PublishReceipt, PullResult, ReadResult, SubscriptionInfo, TopicInfo, WireMessage };

/** The message of an `Error` the broker throws over RPC: the HTTP API's code, then its detail. */
export type BrokerErrorMessage = `${ErrorCode}: ${string}`;

/** Durations are milliseconds or text such as `30s`; times are epoch milliseconds or RFC 3339. */
export type Duration = number | string;
export type Instant = number | string;

/** How a message is published, besides its body. */
export interface PublishOptions {
  /** Default: `application/json` for a value, `application/octet-stream` for bytes. */
  contentType?: string;
  attributes?: Record<string, string>;
  /** Ordering key (`ordered` subscriptions keep one in flight per key). */
  key?: string;
  delay?: Duration;
  deliverAt?: Instant;
  ttl?: Duration;
  expiresAt?: Instant;
  idempotencyKey?: string;
}

/** One message of a batch: a JSON value (or text under a `text/*` type) as `data`, or bytes. */
export interface PublishMessage extends PublishOptions {
  data?: unknown;
  bytes?: Uint8Array | ArrayBuffer;
}

export interface ReadOptions {
  after?: number;
  limit?: number;
  wait?: Duration;
}

export interface PullOptions {
  max?: number;
  wait?: Duration;
}

export interface SettleOptions {
  /** The epoch of the pull that delivered the messages: refused (`conflict`) once it is over. */
  epoch?: string;
}

/**
 * `env.BROKER` in a Worker bound to the broker's `Broker` entrypoint.
 *
 * @example
 * // wrangler.toml: services = [{ binding = "BROKER", service = "edge-broker", entrypoint = "Broker" }]
 * const { seq } = await env.BROKER.publish("orders", { id: 42 }, { key: "customer-7" });
 */
export interface BrokerRpc {
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<PublishReceipt>;
  publishBatch(topic: string, messages: PublishMessage[]): Promise<PublishReceipt[]>;
  read(topic: string, options?: ReadOptions): Promise<ReadResult>;
  pull(topic: string, subscription: string, options?: PullOptions): Promise<PullResult>;
  ack(
    topic: string,
    subscription: string,
    seqs: number[],
    options?: SettleOptions,
  ): Promise<{ acked: number }>;
  nack(
    topic: string,
    subscription: string,
    seqs: number[],
    options?: SettleOptions & { delay?: Duration },
  ): Promise<{ nacked: number }>;
  extend(
    topic: string,
    subscription: string,
    seqs: number[],
    options?: SettleOptions & { ackTimeout?: Duration },
  ): Promise<{ extended: number }>;
  topicInfo(topic: string): Promise<TopicInfo>;
  subscriptionInfo(topic: string, subscription: string): Promise<SubscriptionInfo>;
}
