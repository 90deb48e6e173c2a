/**
 * The RPC surface of the broker for other Workers (DESIGN.md §1, "Workers without HTTP"): what
 * `env.BROKER` offers through a service binding to the `Broker` entrypoint. Answers are the HTTP
 * API's; a refusal is thrown as an `Error` whose message is `<code>: <detail>` with the code of
 * the HTTP API (RPC keeps an error's message, not its fields). Published as the types of
 * `edge-broker/worker`.
 */
import type { ErrorCode } from "./errors.js";
import type { WireMessage } from "./message.js";
import type { PublishReceipt, PullResult, ReadResult, SubscriptionInfo, TopicInfo } from "./topic-rpc.js";

export type { ErrorCode, PublishReceipt, SubscriptionInfo, TopicInfo };

/**
 * A JSON value: what a message's `data` holds (a JSON body parsed, or a `text/*` body). Its
 * arrays and objects are interfaces: the runtime's RPC types walk an answer's type, and a
 * recursive type alias sends that walk past TypeScript's depth limit.
 */
export type JsonValue = string | number | boolean | null | JsonArray | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}
export interface JsonArray extends Array<JsonValue> {}

/**
 * A message as the entrypoint answers it: the wire message with `data` typed as the JSON it is.
 * The runtime's RPC types turn an answer holding `unknown` into `never` (it might not survive
 * structured clone), which would leave `read` and `pull` untyped for the caller.
 */
export type RpcMessage = Omit<WireMessage, "data"> & { data?: JsonValue };

/** `read`'s answer: as `GET /messages` answers, `next` to continue from. */
export type RpcReadResult = Omit<ReadResult, "messages"> & { messages: RpcMessage[] };

/** `pull`'s answer: as `POST /pull` answers, `epoch` to send back with the acks. */
export type RpcPullResult = Omit<PullResult, "messages"> & { messages: RpcMessage[] };

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
  read(topic: string, options?: ReadOptions): Promise<RpcReadResult>;
  pull(topic: string, subscription: string, options?: PullOptions): Promise<RpcPullResult>;
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
