import type { Context } from "hono";
import type * as z from "zod";
import { attributesSchema } from "../protocol/attributes";
import {
  contentTypeSchema,
  correlationIdSchema,
  isJsonText,
  isTooDeep,
  keySchema,
  parseInput,
  publishQuerySchema,
  replyToSchema,
} from "../protocol/http";
import { LIMITS } from "../protocol/limits";
import { isJsonType } from "../protocol/message";
import type { PublishInput } from "../protocol/topic-rpc";
import { readBodyLimited } from "./body";
import { ProblemError, unwrap } from "./errors";
import { queryInput } from "./input";

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
export function headerInput<S extends z.ZodType>(schema: S, header: string, value: unknown): z.output<S> {
  return unwrap(parseInput(schema, value, header));
}

/** Which parts a raw message may carry besides its body, content type, attributes and `Correlation-Id`. */
export interface RawMessageParts {
  /** `?delay=`, `?deliverAt=`, `?ttl=`, `?expiresAt=`, `?key=` and `Reply-To`: a publish's. */
  publish: boolean;
  /** `Idempotency-Key`: a publish's, and a reply's to a topic. */
  idempotency: boolean;
}

/**
 * A message sent as a raw body (DESIGN.md §4): the bytes exactly, with their `Content-Type`
 * (`application/octet-stream` by default), attributes from `X-Attr-*` headers, `Correlation-Id`,
 * and for a publish `Idempotency-Key`, `Reply-To`, `?delay=`, `?deliverAt=`, `?ttl=`, `?expiresAt=`
 * and `?key=`. Headers are checked
 * before the body is read; a JSON type must carry JSON.
 *
 * @example
 * const input = await rawMessage(c, { publish: true, idempotency: true });
 */
export async function rawMessage(c: Context, parts: RawMessageParts): Promise<PublishInput> {
  const { delay, key, deliverAt, ttl, expiresAt } = parts.publish ? queryInput(c, publishQuerySchema) : {};
  const headers = c.req.raw.headers;
  const typeHeader = headers.get("content-type");
  const contentType =
    typeHeader === null
      ? "application/octet-stream"
      : headerInput(contentTypeSchema, "Content-Type", typeHeader);
  const idempotencyKey = headers.get("idempotency-key");
  const keyed =
    parts.idempotency && idempotencyKey !== null
      ? headerInput(keySchema, "Idempotency-Key", idempotencyKey)
      : undefined;
  const attributes = headerInput(attributesSchema, "X-Attr-* headers", headerAttributes(headers));
  const input: PublishInput = { body: new Uint8Array(0), contentType, attributes };
  if (keyed !== undefined) input.idempotencyKey = keyed;
  const replyTo = headers.get("reply-to");
  if (parts.publish && replyTo !== null) input.replyTo = headerInput(replyToSchema, "Reply-To", replyTo);
  const correlationId = headers.get("correlation-id");
  if (correlationId !== null)
    input.correlationId = headerInput(correlationIdSchema, "Correlation-Id", correlationId);
  if (key !== undefined) input.key = key;
  if (delay !== undefined) input.delay = delay;
  if (deliverAt !== undefined) input.deliverAt = deliverAt;
  if (ttl !== undefined) input.ttl = ttl;
  if (expiresAt !== undefined) input.expiresAt = expiresAt;
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
  input.body = body;
  return input;
}
