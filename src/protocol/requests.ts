/**
 * Request/reply over HTTP and WebSocket (DESIGN.md §3, "Request/reply"): the query of
 * `POST /v1/topics/{topic}/requests`, and the bodies of the `request` and `reply` frames.
 */
import * as z from "zod";
import { duration, field } from "./fields";
import { batchSchema } from "./http";
import { isInbox } from "./replies";

/** How long a requester may wait for a reply. */
export const REQUEST_TIMEOUT = { defaultMs: 5_000, maxMs: 30_000 } as const;

const timeout = duration(1, REQUEST_TIMEOUT.maxMs);

/** `POST /v1/topics/{topic}/requests` query: `?timeout=5s`. */
export const requestQuerySchema = z.object({ timeout: timeout.default(REQUEST_TIMEOUT.defaultMs) });

/** One entry of `POST /batch`: what a request or a reply carries as its `message`. */
const entrySchema = batchSchema.shape.messages.element;

/**
 * A `request` frame: `{message, timeout?}`, the message as a batch entry without `replyTo` (the
 * broker sets it to the request's inbox).
 *
 * @example
 * { "type": "request", "id": "r1", "timeout": "5s", "message": { "data": { "sku": "BK-1" } } }
 */
export const requestFrameSchema = z.strictObject({
  message: entrySchema.refine((message) => message.replyTo === undefined, {
    message: "must not set replyTo: a request's replies go to the inbox the broker makes for it",
  }),
  timeout: timeout.default(REQUEST_TIMEOUT.defaultMs),
});

/**
 * A `reply` frame: `{replyTo, message}`, to the inbox a request named. A durable reply topic is
 * published to over HTTP (`POST /v1/replies/{topic}`), where the right to publish there is checked.
 *
 * @example
 * { "type": "reply", "id": "a1", "replyTo": "_reply.9f2c…", "message": { "data": { "inStock": true } } }
 */
export const replyFrameSchema = z.strictObject({
  replyTo: field("must be the inbox a request named (_reply.…); reply to a topic over HTTP", (value) =>
    typeof value === "string" && isInbox(value) ? value : undefined,
  ),
  message: entrySchema.refine(
    (m) =>
      m.replyTo === undefined &&
      m.key === undefined &&
      m.delay === undefined &&
      m.idempotencyKey === undefined,
    { message: "must carry only data (or dataBase64), contentType, attributes and correlationId" },
  ),
});
