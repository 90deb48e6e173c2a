import { Hono } from "hono";
import type * as z from "zod";
import { requireRight } from "../../auth/middleware";
import { validUntil } from "../../auth/tokens";
import { attributesSchema } from "../../protocol/attributes";
import {
  batchSchema,
  contentTypeSchema,
  isJsonText,
  isTooDeep,
  keySchema,
  parseInput,
  publishQuerySchema,
  readQuerySchema,
} from "../../protocol/http";
import { lastEventIdSchema } from "../../protocol/http-consumers";
import { LIMITS } from "../../protocol/limits";
import { isJsonType } from "../../protocol/message";
import type { PublishInput, ReadOptions } from "../../protocol/topic-rpc";
import { readBodyLimited } from "../body";
import { producerHeaders } from "../ds/headers";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, ProblemError, unwrap } from "../errors";
import { bodyInput, nameParam, queryInput } from "../input";
import { rateLimit, wantsEventStream } from "../middleware/rate-limit";
import { publishAsProducer } from "../producer-publish";
import { sseResponse } from "../sse";
import { callTopic } from "../topic-call";

/**
 * A raw publish carries its attributes as headers named `X-Attr-<name>`: `X-Attr-Region: eu` sets
 * the attribute `region` to `eu`. Header names are case-insensitive, so these attribute names
 * arrive in lower case; attributes whose names need capitals (or values beyond what a header can
 * carry) go through the batch endpoint, whose JSON keeps them exactly.
 */
const ATTRIBUTE_HEADER_PREFIX = "x-attr-";

function headerAttributes(headers: Headers): Record<string, string> {
  // No prototype: an `X-Attr-__proto__` header becomes an own entry that validation refuses,
  // instead of silently setting the object's prototype.
  const attributes: Record<string, string> = Object.create(null);
  headers.forEach((value, name) => {
    if (name.startsWith(ATTRIBUTE_HEADER_PREFIX))
      attributes[name.slice(ATTRIBUTE_HEADER_PREFIX.length)] = value;
  });
  return attributes;
}

/** A header's value validated by a protocol schema, named after the header in any error. */
function headerInput<S extends z.ZodType>(schema: S, header: string, value: unknown): z.output<S> {
  return unwrap(parseInput(schema, value, header));
}

/** An SSE stream is a connection and counts as one; a plain read or long-poll is not limited. */
const streamLimit = rateLimit("connect", { when: wantsEventStream });

/** `/v1/topics/{topic}/messages` (publish one, read the log) and `/v1/topics/{topic}/batch`. */
export const messageRoutes = new Hono<BrokerEnv>();

/**
 * Publishes the raw body, byte for byte, with its `Content-Type` (default
 * `application/octet-stream`). Answers 201 for a duplicate too (`duplicate: true`, the original
 * seq): the message is stored either way, and one status keeps retry loops simple.
 */
messageRoutes.post("/:topic/messages", requireRight("publish"), rateLimit("publish"), async (c) => {
  const topic = nameParam(c, "topic");
  const { delay, key, deliverAt, ttl, expiresAt } = queryInput(c, publishQuerySchema);
  const typeHeader = c.req.header("content-type");
  const contentType =
    typeHeader === undefined
      ? "application/octet-stream"
      : headerInput(contentTypeSchema, "Content-Type", typeHeader);
  const keyHeader = c.req.header("idempotency-key");
  const idempotencyKey =
    keyHeader === undefined ? undefined : headerInput(keySchema, "Idempotency-Key", keyHeader);
  const attributes = headerInput(attributesSchema, "X-Attr-* headers", headerAttributes(c.req.raw.headers));

  const body = await readBodyLimited(c.req.raw, LIMITS.messageBytes);
  if (isJsonType(contentType) && isTooDeep(body)) {
    throw new ProblemError(
      "invalid_request",
      `request body must nest at most ${LIMITS.jsonDepth} levels deep`,
    );
  }
  if (isJsonType(contentType) && !isJsonText(body)) {
    throw new ProblemError(
      "invalid_request",
      `request body is not valid JSON, but Content-Type is ${contentType}`,
    );
  }
  const input: PublishInput = { body, contentType, attributes };
  if (key !== undefined) input.key = key;
  if (delay !== undefined) input.delay = delay;
  if (deliverAt !== undefined) input.deliverAt = deliverAt;
  if (ttl !== undefined) input.ttl = ttl;
  if (expiresAt !== undefined) input.expiresAt = expiresAt;
  if (idempotencyKey !== undefined) input.idempotencyKey = idempotencyKey;

  const producer = producerHeaders(c);
  if (producer) return publishAsProducer(c, topic, [input], producer, ([r], p) => ({ ...r, producer: p }));
  const keyed = idempotencyKey !== undefined;
  const [receipt] = unwrap(await callTopic(c.env, topic, (t) => t.publish([input]), { idempotent: keyed }));
  return c.json(receipt, 201);
});

/**
 * Reads the log after a seq, long-polling up to `wait`. With `Accept: text/event-stream` the answer
 * is an SSE stream from `after` (or `Last-Event-ID`, which a reconnecting EventSource sends).
 */
messageRoutes.get("/:topic/messages", requireRight("subscribe"), streamLimit, async (c) => {
  const topic = nameParam(c, "topic");
  const { after, limit, wait } = queryInput(c, readQuerySchema);
  if (wantsEventStream(c)) {
    const lastEventId = c.req.header("last-event-id");
    const resume =
      lastEventId === undefined ? after : headerInput(lastEventIdSchema, "Last-Event-ID", lastEventId);
    // Refuse a missing topic with a plain 404 before the stream starts.
    unwrap(await callTopic(c.env, topic, (t) => t.info()));
    return sseResponse(
      (from, ms) => callTopic(c.env, topic, (t) => t.read({ after: from, limit, wait: ms })),
      { start: resume ?? 0, signal: c.req.raw.signal, until: validUntil(c.get("principal")) },
    );
  }
  const options: ReadOptions = { limit, wait };
  if (after !== undefined) options.after = after;
  return c.json(unwrap(await callTopic(c.env, topic, (t) => t.read(options))));
});
messageRoutes.all("/:topic/messages", methodNotAllowed("GET", "POST"));

/** Publishes up to 1,000 messages atomically: every entry is validated before any is written. */
messageRoutes.post("/:topic/batch", requireRight("publish"), rateLimit("publish"), async (c) => {
  const topic = nameParam(c, "topic");
  const { messages, producer } = await bodyInput(c, batchSchema, LIMITS.batchBytes);
  if (producer)
    return publishAsProducer(c, topic, messages, producer, (r, p) => ({ messages: r, producer: p }));
  const keyed = messages.every((m) => m.idempotencyKey !== undefined);
  const receipts = unwrap(await callTopic(c.env, topic, (t) => t.publish(messages), { idempotent: keyed }));
  return c.json({ messages: receipts }, 201);
});
messageRoutes.all("/:topic/batch", methodNotAllowed("POST"));
