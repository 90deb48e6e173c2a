import { fromBase64, isJsonType, type ReplyMessage, type WireMessage } from "../protocol/message.js";
import type { Duration } from "../protocol/ws-frames.js";
import type { MessageData } from "./publish.js";

const utf8 = new TextEncoder();
const decoder = new TextDecoder();

/** How a message's reply is sent; implemented by the {@link Broker} that received it. */
export type Replier = (message: Message, data: MessageData, options: ReplyOptions) => Promise<void>;

/** Options of {@link Message.reply}. */
export interface ReplyOptions {
  contentType?: string;
  attributes?: Record<string, string>;
  /** For a reply to a topic: sending it twice with the same key stores it once. */
  idempotencyKey?: string;
}

/**
 * A body with its envelope: what a message read from a topic and a reply to a request share.
 * `data` gives the body in its natural form; `bytes()`, `text()` and `json()` convert.
 */
export class Payload {
  readonly id: string;
  /** Epoch ms. */
  readonly publishedAt: number;
  readonly contentType: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** What ties a reply to its request. */
  readonly correlationId: string | undefined;
  readonly #wire: ReplyMessage;
  #bytes: Uint8Array | undefined;

  constructor(wire: ReplyMessage) {
    this.#wire = wire;
    this.id = wire.id;
    this.publishedAt = wire.publishedAt;
    this.contentType = wire.contentType;
    this.attributes = wire.attributes;
    this.correlationId = wire.correlationId;
  }

  /** The body: the parsed value for JSON, a string for `text/*`, bytes otherwise. */
  get data(): unknown {
    return this.#wire.data !== undefined ? this.#wire.data : this.bytes();
  }

  /**
   * The body as bytes. For a JSON body these are the bytes of the parsed value
   * serialised again, which may differ from the published bytes in whitespace.
   */
  bytes(): Uint8Array {
    if (this.#bytes !== undefined) return this.#bytes;
    const wire = this.#wire;
    if (wire.dataBase64 !== undefined) this.#bytes = fromBase64(wire.dataBase64) ?? new Uint8Array(0);
    else if (wire.data === undefined) this.#bytes = new Uint8Array(0);
    else if (typeof wire.data === "string" && !isJsonType(wire.contentType))
      this.#bytes = utf8.encode(wire.data);
    else this.#bytes = utf8.encode(JSON.stringify(wire.data));
    return this.#bytes;
  }

  /** The body as text (UTF-8). */
  text(): string {
    const data = this.#wire.data;
    if (typeof data === "string" && !isJsonType(this.contentType)) return data;
    return decoder.decode(this.bytes());
  }

  /** The body parsed as JSON; throws a `SyntaxError` when it is not JSON. */
  json<T = unknown>(): T {
    if (this.#wire.data !== undefined && isJsonType(this.contentType)) return this.#wire.data as T;
    return JSON.parse(this.text()) as T;
  }
}

/**
 * The reply to a request ({@link Broker.request}): a body and its envelope, not in any topic's log
 * (so without a `seq`).
 *
 * @example
 * const reply = await broker.request("inventory.check", { sku: "BK-1" }, { timeout: "2s" });
 * if (reply.json<{ inStock: boolean }>().inStock) placeOrder();
 */
export class Reply extends Payload {}

/**
 * A message read from a topic (live tail). Bodies arrive as parsed JSON, text, or
 * base64; `data` gives the natural form, `bytes()`, `text()` and `json()` convert.
 *
 * @example
 * for await (const message of broker.live("chat.room-1")) {
 *   console.log(message.seq, message.attributes.author, message.text());
 * }
 */
export class Message extends Payload {
  readonly seq: number;
  readonly key: string | undefined;
  /** Where replies go: a topic, or a requester's inbox. */
  readonly replyTo: string | undefined;
  readonly #replier: Replier | undefined;

  constructor(wire: WireMessage, replier?: Replier) {
    super(wire);
    this.seq = wire.seq;
    this.key = wire.key;
    this.replyTo = wire.replyTo;
    this.#replier = replier;
  }

  /**
   * Answers the message: to the requester waiting on its `replyTo` inbox (rejects with a
   * `gone` {@link BrokerError} when none waits any more), or into its `replyTo` topic with its
   * `correlationId`. Throws a `TypeError` when the message has no `replyTo`.
   *
   * @example
   * for await (const message of subscription) {
   *   await message.reply({ inStock: stock.has(message.json<{ sku: string }>().sku) });
   *   message.ack();
   * }
   */
  reply(data: MessageData, options: ReplyOptions = {}): Promise<void> {
    if (this.replyTo === undefined)
      return Promise.reject(new TypeError("this message has no replyTo to answer"));
    if (this.#replier === undefined)
      return Promise.reject(new TypeError("this message was not received from a Broker"));
    return this.#replier(this, data, options);
  }
}

/** How a received message is settled; implemented by its subscription. */
export interface Settler {
  ack(seq: number): void;
  nack(seq: number, delay?: Duration): void;
  extend(seq: number, ackTimeout?: Duration): void;
}

/**
 * A message leased to this consumer by a subscription. Settle it with `ack()` once
 * processed, `nack()` to have it redelivered (after `delay`, or the subscription's
 * backoff), or `extend()` while still working on it. Until settled it counts against
 * `maxInFlight`; unsettled, it is redelivered when its lease runs out or the socket it
 * came on closes (it is not handed out twice while you still hold it).
 *
 * Settling is fire-and-forget and survives reconnects: the client batches acks into
 * one frame, and resends those the broker did not confirm before a socket dropped.
 *
 * @example
 * for await (const message of subscription) {
 *   try {
 *     await handle(message.json());
 *     message.ack();
 *   } catch {
 *     message.nack("30s");
 *   }
 * }
 */
export class ReceivedMessage extends Message {
  /** 1 on the first delivery, 2 on the first redelivery … */
  readonly attempt: number;
  /** When the lease runs out (the broker's clock), epoch ms. */
  readonly leaseExpiresAt: number | undefined;
  readonly #settler: Settler;
  #settled = false;

  constructor(wire: WireMessage, settler: Settler, replier?: Replier) {
    super(wire, replier);
    this.attempt = wire.attempt ?? 1;
    this.leaseExpiresAt = wire.leaseExpiresAt;
    this.#settler = settler;
  }

  /** True once `ack()` or `nack()` was called. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Done with it: the broker will not deliver it again. A second call does nothing. */
  ack(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#settler.ack(this.seq);
  }

  /** Give it back for redelivery, no sooner than `delay` (ms or `"30s"`). A second call does nothing. */
  nack(delay?: Duration): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#settler.nack(this.seq, delay);
  }

  /** Still working: renew the lease for `ackTimeout` (default: the subscription's) from now. */
  extend(ackTimeout?: Duration): void {
    if (!this.#settled) this.#settler.extend(this.seq, ackTimeout);
  }
}
