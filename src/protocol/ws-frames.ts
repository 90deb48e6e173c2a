/**
 * The WebSocket protocol of the broker, as plain types and constants (DESIGN.md §5).
 *
 * This file carries no runtime dependency so the client SDK can import it; the zod
 * schemas that validate these frames at the edge live in `./ws-schemas.ts`, which
 * re-exports everything here.
 */
import { ERROR_CODES, type ErrorCode, type Violation } from "./errors.js";
import type { ReplyMessage, WireMessage } from "./message.js";

/** The subprotocol both sides must agree on; the server answers with exactly this entry. */
export const SUBPROTOCOL = "edge-broker.v1";

/** Prefix of the `Sec-WebSocket-Protocol` entry that carries a token (browsers cannot set headers). */
export const BEARER_PROTOCOL_PREFIX = "bearer.";

/**
 * The keep-alive frames, byte for byte. The server registers this pair as the
 * hibernation auto-response, which matches the exact text, so an idle socket is kept
 * alive without waking the Durable Object. A `ping` carrying an `id` is answered by the
 * server itself (a `pong` echoing the `id`).
 */
export const PING_FRAME = '{"type":"ping"}';
export const PONG_FRAME = '{"type":"pong"}';

/** Most seqs in one `ack`, `nack` or `extend` frame. */
export const MAX_SEQS_PER_FRAME = 1_000;

/** A consumer socket's credit until its URL (`?maxInFlight=`) or a `flow` frame says otherwise. */
export const DEFAULT_MAX_IN_FLIGHT = 100;

/** Largest `maxInFlight` a consumer may ask for. */
export const MAX_IN_FLIGHT = 1_000;

/**
 * WebSocket close codes used by the broker (the README lists what each means to a client). A
 * close always carries a reason of the form `<error code>: <detail>` (see {@link closeReason}),
 * so a client can tell a refused token (`unauthorized`, worth retrying with a fresh one) from a
 * missing right (`forbidden`, not worth retrying) under the same 1008.
 */
export const CLOSE_CODES = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  TRY_AGAIN_LATER: 1013,
  TOPIC_DELETED: 4000,
  SUBSCRIPTION_DELETED: 4001,
  EPOCH_CHANGED: 4002,
  NOT_FOUND: 4004,
  INVALID_FRAME: 4400,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

/** A close reason may hold at most 123 bytes of UTF-8 (RFC 6455 §5.5). */
const MAX_REASON_BYTES = 123;

const ERROR_CODE_SET: ReadonlySet<string> = new Set<ErrorCode>(ERROR_CODES);

/** True when `value` is one of the broker's stable error codes. */
export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === "string" && ERROR_CODE_SET.has(value);

/**
 * The close reason for a broker close: `<code>: <detail>`, cut to the 123 bytes a
 * close frame allows (a longer reason makes `close()` throw).
 *
 * @example
 * ws.close(CLOSE_CODES.POLICY, closeReason("unauthorized", "the token expired"));
 */
export function closeReason(code: ErrorCode, detail: string): string {
  const encoder = new TextEncoder();
  let reason = `${code}: ${detail}`;
  while (encoder.encode(reason).length > MAX_REASON_BYTES) reason = reason.slice(0, -1);
  return reason;
}

/**
 * Reads a close reason written by {@link closeReason}; `code` is absent when the
 * reason does not start with a known error code (a proxy or the runtime closed it).
 *
 * @example
 * parseCloseReason("forbidden: no subscribe right on orders"); // { code: "forbidden", detail: "no subscribe right on orders" }
 */
export function parseCloseReason(reason: string): { code?: ErrorCode; detail: string } {
  const colon = reason.indexOf(":");
  const head = colon < 0 ? reason : reason.slice(0, colon);
  if (!isErrorCode(head)) return { detail: reason };
  return { code: head, detail: colon < 0 ? "" : reason.slice(colon + 1).trim() };
}

/** A duration as a client may write it: milliseconds, or a string like `"30s"`. */
export type Duration = number | string;

// ---------------------------------------------------------------------------------------
// server → client

/**
 * First frame on every socket. A live tail opened before its topic exists is told `epoch: null`
 * and waits; when the topic is created it gets `hello` again, with the new epoch, before the
 * topic's first message.
 */
export interface HelloFrame {
  type: "hello";
  /** The topic of a single-topic socket; absent on a session (`/v1/ws`), which names none. */
  topic?: string;
  /** Present on subscription sockets. */
  subscription?: string;
  /**
   * The topic's epoch; a client resuming by seq compares it with the one it knew. `null` while
   * the topic does not exist yet (a live tail waiting for its first publish). Absent on a
   * session (`/v1/ws`): each `subscribed` frame carries its topic's epoch instead.
   */
  epoch?: string | null;
  /** An id of this connection, for logs on both sides. */
  session: string;
  /** The broker's release (semver), as `/healthz` reports it: for logs and bug reports. */
  version: string;
  /**
   * Live tail only: the stream continues with messages whose seq is greater than this.
   * A client that loses the socket before any message arrives resumes from here, which
   * keeps a tail started "from now" gap-free.
   */
  after?: number;
}

export interface MessageFrame {
  type: "message";
  message: WireMessage;
}

export interface MessagesFrame {
  type: "messages";
  messages: WireMessage[];
}

/** Reply to a `publish` frame. */
export interface PublishedFrame {
  type: "published";
  /** The request `id`, when the publish frame had one. */
  id?: string;
  seq: number;
  /** The message's id (`id` is taken by the request id). */
  messageId: string;
  duplicate: boolean;
}

/** Reply to an `ack`, `nack`, `extend` or `flow` frame that carried an `id`. */
export interface OkFrame {
  type: "ok";
  id: string;
}

export interface ErrorFrame {
  type: "error";
  code: ErrorCode;
  message: string;
  /** The request `id`, when the failed frame had one; on a session, also a subscription's `id`. */
  id?: string;
  /**
   * On a session, for a subscription the broker refused or ended: the close code a socket of its
   * own would have been closed with (4000 topic deleted, 4001 subscription deleted, 4002 epoch
   * changed, 4004 not found, 1008 forbidden, 1013 try again later).
   */
  closeCode?: number;
  /** `schema_violation`: every reason the message was refused (as in a problem body). */
  errors?: Violation[];
}

export interface PongFrame {
  type: "pong";
  id?: string;
}

/** The first reply to a `request` frame (a request that failed gets an `error` frame instead). */
export interface ReplyMessageFrame {
  type: "reply";
  /** The request `id`, when the request frame had one. */
  id?: string;
  message: ReplyMessage;
}

export type ServerFrame =
  | HelloFrame
  | MessageFrame
  | MessagesFrame
  | PublishedFrame
  | OkFrame
  | ErrorFrame
  | PongFrame
  | ReplyMessageFrame;

// ---------------------------------------------------------------------------------------
// client → server (as written by a client; the server normalises durations to ms)

export interface AckFrame {
  type: "ack";
  seqs: number[];
  /** The topic's epoch the messages were delivered in (`hello`); refused when it is not the current one. */
  epoch?: string;
  id?: string;
}

export interface NackFrame {
  type: "nack";
  seqs: number[];
  /** Redeliver no sooner than this; omitted = the subscription's backoff. */
  delay?: Duration;
  /** The topic's epoch the messages were delivered in (`hello`); refused when it is not the current one. */
  epoch?: string;
  id?: string;
}

export interface ExtendFrame {
  type: "extend";
  seqs: number[];
  /** New lease length from now; omitted = the subscription's `ackTimeout`. */
  ackTimeout?: Duration;
  /** The topic's epoch the messages were delivered in (`hello`); refused when it is not the current one. */
  epoch?: string;
  id?: string;
}

/** Sets this socket's credit: the most messages delivered to it and not yet acked or nacked. */
export interface FlowFrame {
  type: "flow";
  maxInFlight: number;
  id?: string;
}

export interface PublishFrame {
  type: "publish";
  id?: string;
  /** Any JSON value; a string for `text/*` bodies. */
  data?: unknown;
  dataBase64?: string;
  contentType?: string;
  attributes?: Record<string, string>;
  key?: string;
  delay?: Duration;
  /** Invisible to consumers until then (instead of `delay`): epoch ms or RFC 3339. */
  deliverAt?: number | string;
  /** Not delivered once this long has passed since publishing (instead of `expiresAt`). */
  ttl?: Duration;
  /** Not delivered after this time: epoch ms or RFC 3339. */
  expiresAt?: number | string;
  idempotencyKey?: string;
  /** Where replies go: a topic, or an inbox (`_reply.…`). */
  replyTo?: string;
  /** Ties replies to this message. */
  correlationId?: string;
}

export interface PingFrame {
  type: "ping";
  id?: string;
}

/** One message of a `request` or `reply` frame: a `publish` frame's fields. */
export type FrameMessage = Omit<PublishFrame, "type" | "id">;

/**
 * Publishes `message` as a request and is answered with the first reply (`reply`), or an `error`
 * frame: `reply_timeout` after `timeout`, `no_responders` at once.
 */
export interface RequestFrame {
  type: "request";
  id?: string;
  message: Omit<FrameMessage, "replyTo">;
  /** How long to wait for a reply (default 5 s, at most 30 s). */
  timeout?: Duration;
}

/** A reply to the inbox a request named (`replyTo`); answered with `ok`, or `error` `gone`. */
export interface ReplyFrame {
  type: "reply";
  id?: string;
  replyTo: string;
  message: Pick<FrameMessage, "data" | "dataBase64" | "contentType" | "attributes" | "correlationId">;
}

export type ClientFrame =
  | AckFrame
  | NackFrame
  | ExtendFrame
  | FlowFrame
  | PublishFrame
  | PingFrame
  | RequestFrame
  | ReplyFrame;
