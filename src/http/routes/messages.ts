import { Hono } from "hono";
import { requireRight } from "../../auth/middleware";
import { validUntil } from "../../auth/tokens";
import { batchSchema, readQuerySchema } from "../../protocol/http";
import { lastEventIdSchema } from "../../protocol/http-consumers";
import { LIMITS } from "../../protocol/limits";
import type { ReadOptions } from "../../protocol/topic-rpc";
import { producerHeaders } from "../ds/headers";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, unwrap } from "../errors";
import { bodyInput, nameParam, queryInput } from "../input";
import { rateLimit, wantsEventStream } from "../middleware/rate-limit";
import { publishAsProducer } from "../producer-publish";
import { headerInput, rawMessage } from "../raw-message";
import { sseResponse } from "../sse";
import { callTopic } from "../topic-call";

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
  const input = await rawMessage(c, { publish: true, idempotency: true });
  const producer = producerHeaders(c);
  if (producer) return publishAsProducer(c, topic, [input], producer, ([r], p) => ({ ...r, producer: p }));
  const keyed = input.idempotencyKey !== undefined;
  const [receipt] = unwrap(await callTopic(c.env, topic, (t) => t.publish([input]), { idempotent: keyed }));
  return c.json(receipt, 201);
});

/**
 * Reads the log after a seq, long-polling up to `wait`. With `Accept: text/event-stream` the answer
 * is an SSE stream from `after` (or `Last-Event-ID`, which a reconnecting EventSource sends), also on a
 * topic that does not exist yet.
 */
messageRoutes.get("/:topic/messages", requireRight("subscribe"), streamLimit, async (c) => {
  const topic = nameParam(c, "topic");
  const { after, limit, wait } = queryInput(c, readQuerySchema);
  if (wantsEventStream(c)) {
    const lastEventId = c.req.header("last-event-id");
    const resume =
      lastEventId === undefined ? after : headerInput(lastEventIdSchema, "Last-Event-ID", lastEventId);
    // A topic that does not exist yet is waited for: the stream says `hello` with `epoch: null`.
    return sseResponse(
      (from, ms, waitForTopic) =>
        callTopic(c.env, topic, (t) => t.read({ after: from, limit, wait: ms, waitForTopic })),
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
