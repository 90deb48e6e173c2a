/**
 * The zod schemas of a session's client frames (`GET /v1/ws`, ./session-frames.ts) and the one
 * parser the session uses. Settlements and credit take the same bodies as on a subscription's own
 * socket (./ws-schemas.ts), plus the topic and subscription they are for.
 */
import { z } from "zod";
import { type ErrorCode, fail } from "./errors";
import { parseInput } from "./http";
import { NAME_RE } from "./names";
import type { SessionClientFrame } from "./session-frames";
import { MAX_TOPICS_PER_PATTERN } from "./session-frames";
import type { AckInput, ExtendInput, NackInput } from "./topic-rpc";
import { CLIENT_FRAME_BODIES, type FrameFailure, parseClientFrame } from "./ws-schemas";

/** A prefix pattern: a name-shaped prefix (or nothing) and one `*`, as in a token's `cap`. */
const PATTERN_RE = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,126})?\*$/;

const name = z.string().regex(NAME_RE, { error: "must be a topic or subscription name" });
const topicOrPattern = z.string().refine((t) => NAME_RE.test(t) || PATTERN_RE.test(t), {
  error: "must be a topic name or a prefix pattern ending in `*`",
});
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const id = z.string().min(1).max(128);

const subscribeSchema = z.strictObject({
  id,
  topic: topicOrPattern,
  subscription: name.optional(),
  after: seq.optional(),
  epoch: z.string().min(1).max(64).optional(),
  positions: z
    .record(name, seq)
    .refine((p) => Object.keys(p).length <= MAX_TOPICS_PER_PATTERN, {
      error: `must name at most ${MAX_TOPICS_PER_PATTERN} topics`,
    })
    .optional(),
  maxInFlight: CLIENT_FRAME_BODIES.flow.shape.maxInFlight.optional(),
});

const named = { topic: name, subscription: name };

/** A session's client frame after validation: durations in ms. */
export type ParsedSessionFrame =
  | {
      type: "subscribe";
      id: string;
      topic: string;
      subscription?: string;
      after?: number;
      epoch?: string;
      positions?: Record<string, number>;
      maxInFlight?: number;
    }
  | { type: "unsubscribe"; id: string }
  | ({ type: "ack"; id?: string; topic: string; subscription: string } & AckInput)
  | ({ type: "nack"; id?: string; topic: string; subscription: string } & NackInput)
  | ({ type: "extend"; id?: string; topic: string; subscription: string } & ExtendInput)
  | { type: "flow"; id?: string; topic: string; subscription: string; maxInFlight: number }
  | { type: "ping"; id?: string };

const SETTLING = {
  ack: CLIENT_FRAME_BODIES.ack.extend(named),
  nack: CLIENT_FRAME_BODIES.nack.extend(named),
  extend: CLIENT_FRAME_BODIES.extend.extend(named),
  flow: CLIENT_FRAME_BODIES.flow.extend(named),
} as const;

/**
 * Validates one text frame from a session's client. Failures carry a stable code and a sentence
 * naming the field, and the frame's `id` when one could be read.
 *
 * @example
 * const parsed = parseSessionFrame('{"type":"subscribe","id":"s1","topic":"chat.room-*"}');
 * // { ok: true, value: { type: "subscribe", id: "s1", topic: "chat.room-*" } }
 */
export function parseSessionFrame(text: string): { ok: true; value: ParsedSessionFrame } | FrameFailure {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The frame parser of single-topic sockets says the same things about size and JSON.
    return parseClientFrame(text) as FrameFailure;
  }
  const frame = typeof json === "object" && json !== null && !Array.isArray(json) ? json : {};
  const { type, ...fields } = frame as Record<string, unknown>;
  const echo = typeof fields.id === "string" && fields.id.length <= 128 ? fields.id : undefined;
  const failure = (code: ErrorCode, detail: string): FrameFailure =>
    echo === undefined ? fail(code, detail) : { ...fail(code, detail), id: echo };
  if (text.length > 1024 * 1024) return failure("payload_too_large", "a frame must be at most 1 MiB");
  switch (type) {
    case "subscribe": {
      const parsed = parseInput(subscribeSchema, fields, "subscribe frame");
      return parsed.ok ? { ok: true, value: { type, ...parsed.value } } : failure(parsed.code, parsed.detail);
    }
    case "unsubscribe": {
      const parsed = parseInput(z.strictObject({ id }), fields, "unsubscribe frame");
      return parsed.ok ? { ok: true, value: { type, ...parsed.value } } : failure(parsed.code, parsed.detail);
    }
    case "ack":
    case "nack":
    case "extend":
    case "flow": {
      const { id: requestId, ...body } = fields;
      if (requestId !== undefined && echo === undefined) {
        return failure("invalid_request", `${type} frame: id must be a string of 1 to 128 characters`);
      }
      const parsed = parseInput(SETTLING[type], body, `${type} frame`);
      if (!parsed.ok) return failure(parsed.code, parsed.detail);
      const value = { type, ...(echo === undefined ? {} : { id: echo }), ...parsed.value };
      return { ok: true, value: value as ParsedSessionFrame };
    }
    case "ping":
      return { ok: true, value: echo === undefined ? { type } : { type, id: echo } };
    default: {
      const known = "subscribe, unsubscribe, ack, nack, extend, flow, ping";
      return failure(
        "invalid_request",
        `unknown frame type "${String(type).slice(0, 32)}"; expected one of ${known}`,
      );
    }
  }
}

/** The frames of ./session-frames.ts and the parser's output must agree on their kinds. */
export type _SessionFrameKinds = [SessionClientFrame["type"]] extends [ParsedSessionFrame["type"]]
  ? [ParsedSessionFrame["type"]] extends [SessionClientFrame["type"]]
    ? true
    : never
  : never;
