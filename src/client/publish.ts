import { isJsonType, isTextType, toBase64 } from "../protocol/message.js";
import type { Duration } from "../protocol/ws-frames.js";
import { BrokerError } from "./errors.js";

/**
 * What a message can carry: text, bytes, or any JSON value.
 *
 * - `string` → `text/plain;charset=utf-8`
 * - `Uint8Array`, `ArrayBuffer`, any `ArrayBufferView` → `application/octet-stream`
 * - anything else (objects, arrays, numbers, booleans, `null`) → `application/json`
 *
 * A `contentType` option overrides the type; the bytes stay those of the value
 * (a string with `application/json` is sent as the JSON text it holds).
 */
export type MessageData = string | Uint8Array | ArrayBuffer | ArrayBufferView | JsonValue;

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue | undefined };

/** Options of one published message. */
export interface PublishOptions {
  contentType?: string;
  /** String attributes (at most 32); subscriptions can filter on them. */
  attributes?: Record<string, string>;
  /** Ordering key: a subscription with `ordered: true` delivers one message per key at a time. */
  key?: string;
  /** Invisible to consumers until this much later: ms or `"30s"`, `"5m"` … (at most 7 days). */
  delay?: Duration;
  /** Invisible to consumers until this time (instead of `delay`): a `Date`, epoch ms or RFC 3339. */
  deliverAt?: Date | number | string;
  /** Not delivered once this long has passed since publishing (instead of `expiresAt`). */
  ttl?: Duration;
  /** Not delivered after this time: a `Date`, epoch ms or RFC 3339. */
  expiresAt?: Date | number | string;
  /** Publishing twice with the same key (within the topic's dedup window) stores the message once. */
  idempotencyKey?: string;
  /** Where replies go: a topic (replies are stored there) or an inbox. */
  replyTo?: string;
  /** Ties replies to this message: each reply carries it back. */
  correlationId?: string;
}

/** One entry of {@link Broker.publishBatch}. */
export interface BatchMessage extends PublishOptions {
  data: MessageData;
}

/** What the broker answers for a published message. */
export interface PublishReceipt {
  seq: number;
  id: string;
  /** True when the idempotency key was seen before: `seq` and `id` are the original's. */
  duplicate: boolean;
}

/** The wire form of one batch entry (DESIGN.md §4). */
export interface BatchEntry {
  data?: unknown;
  dataBase64?: string;
  contentType: string;
  attributes?: Record<string, string>;
  key?: string;
  delay?: Duration;
  deliverAt?: number | string;
  ttl?: Duration;
  expiresAt?: number | string;
  idempotencyKey?: string;
  replyTo?: string;
  correlationId?: string;
}

/** A time as the broker takes it: epoch ms, or RFC 3339 text as given. */
const instant = (at: Date | number | string | undefined) => (at instanceof Date ? at.getTime() : at);

const utf8 = new TextEncoder();

function asBytes(data: MessageData): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** The body of a message as the user meant it: the bytes, and the content type they imply. */
export function encodeData(
  data: MessageData,
  contentType?: string,
): { body: string | Uint8Array; contentType: string } {
  if (data === undefined) throw new TypeError("message data must not be undefined");
  const bytes = asBytes(data);
  if (bytes !== undefined) return { body: bytes, contentType: contentType ?? "application/octet-stream" };
  if (typeof data === "string") return { body: data, contentType: contentType ?? "text/plain;charset=utf-8" };
  return { body: JSON.stringify(data), contentType: contentType ?? "application/json" };
}

/** Header names a raw publish can carry an attribute under: header names arrive lower-cased. */
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** Header values survive as-is only as visible ASCII without surrounding whitespace. */
const HEADER_VALUE_RE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;

/**
 * The request of a raw `POST /messages`, or `undefined` when the message needs the
 * batch endpoint to arrive intact: attribute names with capitals (header names are
 * case-insensitive) and values or idempotency keys a header cannot carry verbatim.
 */
export function rawPublish(
  data: MessageData,
  options: PublishOptions,
):
  | { body: string | Uint8Array; headers: Record<string, string>; query: Record<string, string | undefined> }
  | undefined {
  const { body, contentType } = encodeData(data, options.contentType);
  const headers: Record<string, string> = { "content-type": contentType };
  for (const [name, value] of Object.entries(options.attributes ?? {})) {
    if (!HEADER_NAME_RE.test(name) || !HEADER_VALUE_RE.test(value)) return undefined;
    headers[`x-attr-${name}`] = value;
  }
  const verbatim = {
    "idempotency-key": options.idempotencyKey,
    "reply-to": options.replyTo,
    "correlation-id": options.correlationId,
  };
  for (const [header, value] of Object.entries(verbatim)) {
    if (value === undefined) continue;
    if (value === "" || !HEADER_VALUE_RE.test(value)) return undefined;
    headers[header] = value;
  }
  const query = {
    delay: options.delay === undefined ? undefined : String(options.delay),
    key: options.key,
    deliverAt: options.deliverAt === undefined ? undefined : String(instant(options.deliverAt)),
    ttl: options.ttl === undefined ? undefined : String(options.ttl),
    expiresAt: options.expiresAt === undefined ? undefined : String(instant(options.expiresAt)),
  };
  return { body, headers, query };
}

/**
 * A request or reply, which has no batch to fall back on: a raw body whose attributes must
 * travel as headers, or a refusal that says so.
 */
export function headerPublish(
  data: MessageData,
  options: PublishOptions,
): { headers: Record<string, string>; body: BodyInit } {
  const raw = rawPublish(data, options);
  if (raw === undefined) {
    throw new BrokerError(
      "invalid_request",
      "attributes here travel as headers: use lower-case names and visible ASCII",
    );
  }
  return { headers: raw.headers, body: raw.body as BodyInit };
}

/**
 * One batch entry. `data` is used where it round-trips exactly (JSON values with a
 * JSON type, strings with a text type); everything else travels as base64.
 */
export function batchEntry(message: BatchMessage): BatchEntry {
  const { body, contentType } = encodeData(message.data, message.contentType);
  const entry: BatchEntry = { contentType };
  const natural = asBytes(message.data) === undefined && typeof message.data !== "string";
  if (natural && isJsonType(contentType)) entry.data = message.data;
  else if (typeof message.data === "string" && isTextType(contentType)) entry.data = message.data;
  else entry.dataBase64 = toBase64(typeof body === "string" ? utf8.encode(body) : body);
  if (message.attributes !== undefined) entry.attributes = message.attributes;
  if (message.key !== undefined) entry.key = message.key;
  if (message.delay !== undefined) entry.delay = message.delay;
  if (message.deliverAt !== undefined) entry.deliverAt = instant(message.deliverAt) as number | string;
  if (message.ttl !== undefined) entry.ttl = message.ttl;
  if (message.expiresAt !== undefined) entry.expiresAt = instant(message.expiresAt) as number | string;
  if (message.idempotencyKey !== undefined) entry.idempotencyKey = message.idempotencyKey;
  if (message.replyTo !== undefined) entry.replyTo = message.replyTo;
  if (message.correlationId !== undefined) entry.correlationId = message.correlationId;
  return entry;
}
