import type { ReplyMessage } from "../protocol/message.js";
import { isValidName } from "../protocol/names.js";
import type { Duration } from "../protocol/ws-frames.js";
import { type BatchingOptions, PublishBatcher } from "./batcher.js";
import type { ConnectionOptions } from "./connection.js";
import { BrokerError } from "./errors.js";
import { type LiveOptions, LiveTail } from "./live.js";
import { Reply } from "./message.js";
import {
  type BatchEntry,
  type BatchMessage,
  batchEntry,
  headerPublish,
  type MessageData,
  type PublishOptions,
  type PublishReceipt,
  rawPublish,
} from "./publish.js";
import { Session } from "./session.js";
import { type SubscribeOptions, Subscription } from "./subscription.js";
import { Transport, type TransportOptions } from "./transport.js";

/**
 * Options of a {@link Broker}: where it is and how it authenticates, and how its one
 * connection (shared by every `live()` and `subscribe()`) reconnects. Connection options given
 * here win over those of a single `live()` or `subscribe()`, whose options configure the
 * connection only when it is opened by them.
 *
 * @example
 * const broker = new Broker({ url: "https://broker.example.com", token: () => getFreshToken() });
 */
export interface BrokerOptions extends TransportOptions, ConnectionOptions {
  /**
   * How concurrent {@link Broker.publish} calls coalesce into batches (one request in flight per
   * topic, the rest leaving together as the next); `false` sends each call alone. On by default.
   */
  batching?: BatchingOptions | false;
}

/** Options of {@link Broker.request}. */
export interface RequestOptions {
  /** How long to wait for a reply: ms or `"5s"` (the broker's default is 5 s, its most 30 s). */
  timeout?: Duration;
  contentType?: string;
  /** Sent as headers: lower-case names, visible ASCII values. */
  attributes?: Record<string, string>;
  /** Carried by the request and its reply (the broker makes one when this is left out). */
  correlationId?: string;
  signal?: AbortSignal;
}

/**
 * A client of one edge-broker deployment. It runs unchanged in browsers, Node ≥ 22,
 * Deno, Bun and Workers: it needs only `fetch` and `WebSocket`.
 *
 * `token` may be a function: it is called before every request and every
 * (re)connect, so a short-lived token is refreshed as it goes.
 *
 * @example
 * import { Broker } from "edge-broker/client";
 *
 * const broker = new Broker({ url: "http://127.0.0.1:8787" });
 * const { seq } = await broker.publish("orders", { id: 42, total: 9.5 });
 *
 * const subscription = broker.subscribe("orders", "billing", { create: { startAt: "earliest" } });
 * for await (const message of subscription) {
 *   console.log(message.seq, message.json());
 *   message.ack();
 * }
 */
export class Broker {
  readonly #transport: Transport;
  readonly #session: Session;
  readonly #batcher: PublishBatcher | undefined;

  constructor(options: BrokerOptions) {
    this.#transport = new Transport(options);
    const { url: _, token: __, fetch: ___, socketToken: ____, batching, ...connection } = options;
    this.#session = new Session(this.#transport, connection);
    if (batching !== false) {
      this.#batcher = new PublishBatcher(
        {
          batch: (topic, entries) => this.#sendBatch(topic, entries, {}),
          single: (topic, message) => this.#publishAlone(topic, message.data, message),
        },
        batching,
      );
    }
  }

  /**
   * Publishes one message; resolves once it is durably stored. The body is sent raw
   * (no base64), with its attributes as headers; a message whose attributes a header
   * cannot carry verbatim (capitals in a name, non-ASCII values) goes as a batch of one.
   *
   * @example
   * await broker.publish("orders", { id: 42 });                          // application/json
   * await broker.publish("logs", "disk full", { attributes: { level: "warn" } });
   * await broker.publish("images", bytes, { contentType: "image/png" });
   * await broker.publish("reminders", { to: "ada" }, { delay: "15m", idempotencyKey: "reminder-7" });
   *
   * Calls made while another publish to the same topic is in flight wait for it and then leave
   * together as one batch (see {@link BrokerOptions.batching}), in the order they were made; each
   * resolves with its own receipt or error. `batch: false`, or a `signal`, sends a call alone.
   */
  async publish(
    topic: string,
    data: MessageData,
    options: PublishOptions & { signal?: AbortSignal; batch?: boolean } = {},
  ): Promise<PublishReceipt> {
    checkName(topic, "topic");
    if (this.#batcher !== undefined && options.batch !== false && options.signal === undefined) {
      return this.#batcher.add(topic, { ...options, data });
    }
    return this.#publishAlone(topic, data, options);
  }

  /** One message as one request: raw when its headers can carry it, else a batch of one. */
  async #publishAlone(
    topic: string,
    data: MessageData,
    options: PublishOptions & { signal?: AbortSignal },
  ): Promise<PublishReceipt> {
    const raw = rawPublish(data, options);
    if (raw === undefined) {
      const [receipt] = await this.publishBatch(topic, [{ ...options, data }], options);
      return receipt as PublishReceipt;
    }
    const init: Parameters<Transport["request"]>[2] = {
      headers: raw.headers,
      body: raw.body as BodyInit,
      query: raw.query,
    };
    if (options.signal !== undefined) init.signal = options.signal;
    return this.#transport.request<PublishReceipt>("POST", ["v1", "topics", topic, "messages"], init);
  }

  /**
   * Publishes up to 1,000 messages atomically: all are stored, in order, or none. With
   * `producer` (an idempotent producer's id, epoch and the seq of this request, from 0 in each
   * epoch), the broker stores the request once: a retry of a request it already stored resolves
   * to `[]`.
   *
   * @example
   * const receipts = await broker.publishBatch("orders", [
   *   { data: { id: 1 }, key: "customer-7" },
   *   { data: "plain text", attributes: { kind: "note" } },
   * ]);
   * await broker.publishBatch("orders", [{ data: { id: 2 } }], { producer: { id: "billing-1", epoch: 0, seq: 0 } });
   */
  async publishBatch(
    topic: string,
    messages: BatchMessage[],
    options: { signal?: AbortSignal; producer?: { id: string; epoch: number; seq: number } } = {},
  ): Promise<PublishReceipt[]> {
    checkName(topic, "topic");
    return this.#sendBatch(topic, messages.map(batchEntry), options);
  }

  async #sendBatch(
    topic: string,
    entries: BatchEntry[],
    options: { signal?: AbortSignal; producer?: { id: string; epoch: number; seq: number } },
  ): Promise<PublishReceipt[]> {
    const json: Record<string, unknown> = { messages: entries };
    if (options.producer !== undefined) json.producer = options.producer;
    const init: Parameters<Transport["request"]>[2] = { json };
    if (options.signal !== undefined) init.signal = options.signal;
    const answer = await this.#transport.request<{ messages?: PublishReceipt[] }>(
      "POST",
      ["v1", "topics", topic, "batch"],
      init,
    );
    return answer.messages ?? [];
  }

  /**
   * Publishes a request and resolves with its first reply. Rejects with a {@link BrokerError}
   * `reply_timeout` when none came in time, and `no_responders` at once when no subscription
   * (or route) of the topic could see the request. Aborting `signal` cancels the wait: a reply
   * that comes after it is refused.
   *
   * @example
   * const reply = await broker.request("inventory.check", { sku: "BK-1" }, { timeout: "2s" });
   * console.log(reply.json());
   */
  async request(topic: string, data: MessageData, options: RequestOptions = {}): Promise<Reply> {
    checkName(topic, "topic");
    const { timeout, signal, ...fields } = options;
    const init: Parameters<Transport["request"]>[2] = {
      ...headerPublish(data, fields),
      query: { timeout: timeout === undefined ? undefined : String(timeout) },
    };
    if (signal !== undefined) init.signal = signal;
    const wire = await this.#transport.request<ReplyMessage>(
      "POST",
      ["v1", "topics", topic, "requests"],
      init,
    );
    return new Reply(wire);
  }

  /**
   * Consumes a subscription over a WebSocket (see {@link Subscription}). With `create`,
   * the subscription is created (or its config updated) first.
   *
   * @example
   * const subscription = broker.subscribe("orders", "billing", {
   *   maxInFlight: 10,
   *   create: { startAt: "earliest", ackTimeout: "1m", maxAttempts: 5, deadLetterTopic: "orders.dead" },
   *   onMessage: async (message) => {
   *     await bill(message.json());
   *     message.ack();
   *   },
   * });
   * subscription.addEventListener("status", (event) => console.log((event as StatusEvent).status));
   */
  subscribe(topic: string, subscription: string, options: SubscribeOptions = {}): Subscription {
    checkName(topic, "topic");
    checkName(subscription, "subscription");
    return new Subscription(this.#transport, this.#session, topic, subscription, options);
  }

  /**
   * Tails a topic live (see {@link LiveTail}): new messages only, or everything after
   * `after` first.
   *
   * @example
   * for await (const message of broker.live("chat.room-1")) console.log(message.text());
   */
  live(topic: string, options: LiveOptions = {}): LiveTail {
    checkName(topic, "topic");
    return new LiveTail(this.#transport, this.#session, topic, options);
  }
}

function checkName(name: string, what: "topic" | "subscription"): void {
  if (!isValidName(name)) {
    throw new BrokerError(
      "invalid_name",
      `"${name}" is not a valid ${what} name: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}
