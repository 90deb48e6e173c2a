/**
 * The HTTP API's request bodies and query strings (DESIGN.md §4), as zod schemas whose output is
 * exactly what the Topic Durable Object takes: durations in ms, bodies as bytes.
 * Validate with `parseInput` (from ./fields, re-exported here).
 */
import * as z from "zod";
import { attributesSchema } from "./attributes";
import { parseDuration } from "./duration";
import type { ErrorCode } from "./errors";
import { DURATION_SHAPE, duration, field, integerParam, oneOf } from "./fields";
import { LIMITS } from "./limits";
import { fromBase64, isJsonType, isTextType, jsonDepth } from "./message";
import { NAME_RULE } from "./names";
import { CORRELATION_ID_BYTES, isCorrelationId, isReplyTo } from "./replies";
import { deliverAtSchema, expiresAtSchema, scheduleProblem, ttlSchema } from "./schedule";
import { routesSchema, topicSchemaSchema } from "./topic-config";
import type { PublishInput } from "./topic-rpc";

export { parseInput } from "./fields";
export { NAME_RULE } from "./names";

const SECOND = 1_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const utf8 = new TextEncoder();
const byteLength = (text: string): number => utf8.encode(text).byteLength;

/** Largest JSON body of a control request (config, pull, ack …), in bytes. */
export const CONTROL_BODY_BYTES = 64 * 1024;

const positiveOrNull = field("must be a positive integer or null", (value) =>
  value === null || (Number.isSafeInteger(value) && (value as number) > 0)
    ? (value as number | null)
    : undefined,
).meta({ type: ["integer", "null"], minimum: 1 });

const positiveDurationOrNull = field("must be a positive duration or null", (value) => {
  if (value === null) return null;
  const ms = parseDuration(value);
  return ms !== undefined && ms > 0 ? ms : undefined;
}).meta({ anyOf: [DURATION_SHAPE, { type: "null" }] });

/** An ordering key or idempotency key. */
export const keySchema = field(`must be a non-empty string of at most ${LIMITS.keyBytes} bytes`, (value) =>
  typeof value === "string" && value.length > 0 && byteLength(value) <= LIMITS.keyBytes ? value : undefined,
).meta({ type: "string", minLength: 1 });

const CONTENT_TYPE_RE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:\s*;.*)?$/;
export const contentTypeSchema = field("must be a media type such as application/json", (value) =>
  typeof value === "string" && value.length <= 256 && CONTENT_TYPE_RE.test(value) ? value : undefined,
).meta({ type: "string", maxLength: 256 });

/** A delivery delay of a published message. */
export const delaySchema = duration(0, LIMITS.maxDelayMs);

/** Where replies to a message go: a topic name, or an inbox (`_reply.` and 32 hex digits). */
export const replyToSchema = field(`must be ${NAME_RULE}, or an inbox (_reply.…)`, (value) =>
  isReplyTo(value) ? value : undefined,
).meta({ type: "string" });

/** What ties a reply to its request. */
export const correlationIdSchema = field(
  `must be 1 to ${CORRELATION_ID_BYTES} characters of visible ASCII (spaces only inside)`,
  (value) => (isCorrelationId(value) ? value : undefined),
).meta({ type: "string", minLength: 1, maxLength: CORRELATION_ID_BYTES });

// ---- topics --------------------------------------------------------------------------------

/**
 * `PUT /v1/topics/{topic}`: a partial update of the topic's config.
 *
 * @example
 * parseInput(topicPutSchema, { retention: { maxAge: "7d", maxBytes: null }, onFull: "reject" });
 */
export const topicPutSchema = z.strictObject({
  retention: z
    .strictObject({
      maxAge: positiveDurationOrNull.optional(),
      maxMessages: positiveOrNull.optional(),
      maxBytes: positiveOrNull.optional(),
    })
    .optional(),
  onFull: oneOf("reject", "drop-oldest").optional(),
  dedupWindow: duration(0, 7 * DAY).optional(),
  routes: routesSchema.optional(),
  schema: topicSchemaSchema.optional(),
});

/** `GET /v1/topics` query. */
export const listTopicsQuerySchema = z.object({
  prefix: field("must be at most 128 letters, digits, '.', '_' or '-'", (value) =>
    typeof value === "string" && /^[A-Za-z0-9._-]{0,128}$/.test(value) ? value : undefined,
  )
    .meta({ type: "string", pattern: "^[A-Za-z0-9._-]{0,128}$" })
    .optional(),
  cursor: field("must be a cursor returned by a previous listing", (value) =>
    typeof value === "string" && value.length > 0 && value.length <= 1024 ? value : undefined,
  )
    .meta({ type: "string", minLength: 1, maxLength: 1024 })
    .optional(),
  limit: integerParam(1, LIMITS.readLimit).default(100),
});

// ---- messages ------------------------------------------------------------------------------

/** `POST /v1/topics/{topic}/messages` query; the body is the raw message. */
export const publishQuerySchema = z
  .object({
    delay: delaySchema.optional(),
    key: keySchema.optional(),
    deliverAt: deliverAtSchema.optional(),
    ttl: ttlSchema.optional(),
    expiresAt: expiresAtSchema.optional(),
  })
  .superRefine((query, ctx) => {
    const problem = scheduleProblem(query);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** `GET /v1/topics/{topic}/messages` query. */
export const readQuerySchema = z.object({
  after: integerParam(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: integerParam(1, LIMITS.readLimit).default(100),
  wait: duration(0, LIMITS.readWaitMs).default(0),
});

/** Turns one batch entry into the bytes and content type that get stored. */
function messageBody(
  entry: { data?: unknown; dataBase64?: Uint8Array; contentType?: string },
  ctx: z.RefinementCtx,
): { body: Uint8Array; contentType: string } | undefined {
  const issue = (path: string | undefined, message: string, code?: ErrorCode) =>
    ctx.addIssue({
      code: "custom",
      path: path === undefined ? [] : [path],
      message,
      params: code && { code },
    });
  const hasData = "data" in entry;
  if (hasData === (entry.dataBase64 !== undefined)) {
    issue(undefined, "must have exactly one of data and dataBase64");
    return undefined;
  }
  let body: Uint8Array;
  let contentType: string;
  if (entry.dataBase64 !== undefined) {
    contentType = entry.contentType ?? "application/octet-stream";
    body = entry.dataBase64;
    if (isJsonType(contentType) && !isJsonText(body)) {
      issue("dataBase64", `must decode to valid JSON when contentType is ${contentType}`);
      return undefined;
    }
  } else {
    contentType = entry.contentType ?? "application/json";
    if (isJsonType(contentType)) body = utf8.encode(JSON.stringify(entry.data));
    else if (isTextType(contentType) && typeof entry.data === "string") body = utf8.encode(entry.data);
    else {
      const expected = isTextType(contentType) ? "a string" : "dataBase64 instead";
      issue("data", `cannot carry ${contentType}: use ${expected}`);
      return undefined;
    }
  }
  if (isJsonType(contentType) && isTooDeep(body)) {
    issue(hasData ? "data" : "dataBase64", `must nest at most ${LIMITS.jsonDepth} levels deep`);
    return undefined;
  }
  if (body.byteLength > LIMITS.messageBytes) {
    issue(
      hasData ? "data" : "dataBase64",
      `must be at most ${LIMITS.messageBytes} bytes`,
      "payload_too_large",
    );
    return undefined;
  }
  return { body, contentType };
}

const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** True when `bytes` is UTF-8 JSON text: the check a JSON content type promises. */
/** True when a JSON body nests deeper than the broker carries (see `LIMITS.jsonDepth`). */
export function isTooDeep(bytes: Uint8Array): boolean {
  try {
    return jsonDepth(textDecoder.decode(bytes)) > LIMITS.jsonDepth;
  } catch {
    return false; // not UTF-8: refused as invalid JSON elsewhere
  }
}

export function isJsonText(bytes: Uint8Array): boolean {
  try {
    JSON.parse(textDecoder.decode(bytes));
    return true;
  } catch {
    return false;
  }
}

const batchEntrySchema = z
  .strictObject({
    data: z
      .unknown()
      .meta({ description: "the body: any JSON, or a string under a text/* contentType" })
      .optional(),
    dataBase64: field("must be standard base64 text", (value) =>
      typeof value === "string" ? fromBase64(value) : undefined,
    )
      .meta({ type: "string", contentEncoding: "base64" })
      .optional(),
    contentType: contentTypeSchema.optional(),
    attributes: attributesSchema.optional(),
    key: keySchema.optional(),
    delay: delaySchema.optional(),
    deliverAt: deliverAtSchema.optional(),
    ttl: ttlSchema.optional(),
    expiresAt: expiresAtSchema.optional(),
    idempotencyKey: keySchema.optional(),
    replyTo: replyToSchema.optional(),
    correlationId: correlationIdSchema.optional(),
  })
  .transform((entry, ctx): PublishInput => {
    const problem = scheduleProblem(entry);
    if (problem) {
      ctx.addIssue({ code: "custom", message: problem });
      return z.NEVER;
    }
    const stored = messageBody(entry, ctx);
    if (!stored) return z.NEVER;
    const input: PublishInput = { ...stored, attributes: entry.attributes ?? {} };
    if (entry.key !== undefined) input.key = entry.key;
    if (entry.delay !== undefined) input.delay = entry.delay;
    if (entry.deliverAt !== undefined) input.deliverAt = entry.deliverAt;
    if (entry.ttl !== undefined) input.ttl = entry.ttl;
    if (entry.expiresAt !== undefined) input.expiresAt = entry.expiresAt;
    if (entry.idempotencyKey !== undefined) input.idempotencyKey = entry.idempotencyKey;
    if (entry.replyTo !== undefined) input.replyTo = entry.replyTo;
    if (entry.correlationId !== undefined) input.correlationId = entry.correlationId;
    return input;
  });

/**
 * `POST /v1/topics/{topic}/batch`: each entry becomes a `PublishInput`. `data` is JSON (stored as
 * JSON text, `application/json` by default) or, under a `text/*` type, a string stored as is;
 * `dataBase64` is any bytes (`application/octet-stream` by default).
 *
 * @example
 * parseInput(batchSchema, { messages: [{ data: { id: 7 } }, { data: "hi", contentType: "text/plain" }] });
 */
export const batchSchema = z.strictObject({
  producer: z
    .strictObject({
      id: field("must be a string of 1 to 256 characters", (value) =>
        typeof value === "string" && value.length > 0 && value.length <= 256 ? value : undefined,
      ).meta({ type: "string", minLength: 1, maxLength: 256 }),
      epoch: field("must be a non-negative integer", (value) =>
        Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined,
      ).meta({ type: "integer", minimum: 0 }),
      seq: field("must be a non-negative integer", (value) =>
        Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined,
      ).meta({ type: "integer", minimum: 0 }),
    })
    .optional(),
  messages: z
    .array(batchEntrySchema, { error: "must be an array of messages" })
    .min(1, { error: "must contain at least 1 message" })
    .max(LIMITS.batchMessages, { error: `must contain at most ${LIMITS.batchMessages} messages` }),
});
