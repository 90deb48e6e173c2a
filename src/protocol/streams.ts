/**
 * Durable Streams (the durable-streams protocol) on topics: the RPC types between the worker's
 * `/ds` layer and a topic's object, and the encoding of offsets. A stream is a topic; its offsets
 * are seqs. Imports nothing of ours but ./topic-rpc.
 */
import type { PublishInput } from "./topic-rpc";

/** An idempotent producer's position: one request (a batch) per `seq`, `seq` from 0 in each epoch. */
export interface ProducerStamp {
  id: string;
  epoch: number;
  seq: number;
}

/** What a stream is created with, and what a second create must match to be idempotent. */
export interface StreamConfig {
  /** The stream's media type as given at creation (appends must match it). */
  contentType: string;
  /** Sliding time-to-live in seconds: renewed by every read and append. */
  ttlSeconds: number | null;
  /** Absolute expiry, epoch ms. */
  expiresAt: number | null;
}

/** Where a fork starts: after `offset` (a seq) of `source`, plus `subOffset` of the next append. */
export interface ForkPoint {
  source: string;
  /** `null`: the source's tail when the fork is made. */
  offset: number | null;
  /** Bytes (binary) or messages (JSON) of what follows `offset`; 0 = none. */
  subOffset: number;
}

export interface StreamCreateInput {
  /** `null` for a fork that takes its source's content type. */
  contentType: string | null;
  ttlSeconds: number | null;
  expiresAt: number | null;
  closed: boolean;
  /** The initial content. */
  messages: PublishInput[];
  fork?: ForkPoint;
  /** The media type the body was parsed as, when the body has content (JSON bodies are flattened). */
  bodyType?: string;
}

/** The state a stream answers with: its tail and whether it is closed. */
export interface StreamPosition {
  /** The newest seq (0 while empty): `Stream-Next-Offset`. */
  tail: number;
  closed: boolean;
}

export interface StreamCreated extends StreamPosition {
  created: boolean;
  config: StreamConfig;
}

/** Why a create was refused, besides 404/410 failures. */
export type StreamCreateOutcome =
  | ({ kind: "ok" } & StreamCreated)
  | { kind: "conflict"; detail: string }
  | { kind: "invalid"; detail: string }
  | { kind: "too-large"; detail: string };

export interface StreamAppendInput {
  /** The request's media type; `null` when it sent none (allowed only for a close). */
  contentType: string | null;
  messages: PublishInput[];
  close: boolean;
  streamSeq?: string;
  producer?: ProducerStamp;
  /** Create the topic when it does not exist, as a native publish does (`/v1` with a producer). */
  createTopic?: boolean;
}

/** The outcome of an append: stored, or refused for a reason the protocol answers in its own way. */
export type StreamAppendOutcome =
  | ({ kind: "appended"; producer?: ProducerStamp; seqs: number[]; ids: string[] } & StreamPosition)
  /** `lastSeq`: the log seq the producer's last accepted request ended at. */
  | ({ kind: "duplicate"; producer: ProducerStamp; lastSeq: number } & StreamPosition)
  /** Appending to a closed stream: 409 with `Stream-Closed`. */
  | ({ kind: "closed" } & StreamPosition)
  /** A producer epoch older than the stored one: 403 with the current epoch. */
  | { kind: "stale-epoch"; epoch: number }
  /** A new epoch must start at seq 0: 400. */
  | { kind: "epoch-start"; detail: string }
  /** A producer seq past the next one: 409 with the expected and received seqs. */
  | { kind: "seq-gap"; expected: number; received: number }
  /** `Stream-Seq` not above the last one: 409. */
  | { kind: "stream-seq"; last: string }
  /** Content type other than the stream's: 409. */
  | { kind: "content-type"; expected: string }
  /** The topic refused the messages (retention full): its code and detail. */
  | { kind: "refused"; code: "topic_full" | "payload_too_large"; detail: string };

/** A stored message of a stream: its seq and body. */
export interface StreamMessage {
  seq: number;
  body: Uint8Array;
}

export interface StreamReadInput {
  /** Read after this seq; `"now"`: after the tail. */
  after: number | "now";
  /** Long-poll up to this many ms while there is nothing after `after` and the stream is open. */
  wait: number;
}

export interface StreamPage extends StreamPosition {
  messages: StreamMessage[];
  /** The seq after which the next read starts: `Stream-Next-Offset`. */
  next: number;
  contentType: string;
  epoch: string;
  config: StreamConfig;
}

export interface StreamHead extends StreamPosition {
  config: StreamConfig;
  epoch: string;
}

/** The digits of each half of an offset. */
const HALF = 16;
const ZERO_HALF = "0".repeat(HALF);
const OFFSET_RE = /^(\d{16})_(\d{16})$/;

/**
 * The offset after `seq`: two halves of 16 digits, so that string order is log order. The first
 * half is always zeros (room for a segment, should a stream ever span more than one log).
 *
 * @example
 * offsetOf(42); // "0000000000000000_0000000000000042"
 */
export function offsetOf(seq: number): string {
  return `${ZERO_HALF}_${String(seq).padStart(HALF, "0")}`;
}

/**
 * The seq an offset stands for, `"start"` for `-1`, `"now"` for `now`, or `null` when it is not
 * an offset this broker hands out.
 *
 * @example
 * parseOffset("0000000000000000_0000000000000042"); // 42
 * parseOffset("-1"); // "start"
 */
export function parseOffset(value: string): number | "start" | "now" | null {
  if (value === "-1") return "start";
  if (value === "now") return "now";
  const match = OFFSET_RE.exec(value);
  if (!match || match[1] !== ZERO_HALF) return null;
  const seq = Number(match[2]);
  return Number.isSafeInteger(seq) ? seq : null;
}

/** The media type of a `Content-Type`, lower-cased and without parameters. */
export function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

/** A stream whose messages are JSON values (reads answer a JSON array). */
export function isJsonStream(contentType: string): boolean {
  return mediaType(contentType) === "application/json";
}

/** SSE sends a stream's bytes as text for `text/*` and JSON streams, as base64 for the rest. */
export function isTextStream(contentType: string): boolean {
  const type = mediaType(contentType);
  return type.startsWith("text/") || type === "application/json";
}
