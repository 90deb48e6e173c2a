import { Hono } from "hono";
import { can } from "../../auth/capabilities";
import { requireRight } from "../../auth/middleware";
import { encodeBody, type ReplyMessage } from "../../protocol/message";
import { isValidName, NAME_RULE } from "../../protocol/names";
import { isInbox, newInbox } from "../../protocol/replies";
import { requestQuerySchema } from "../../protocol/requests";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, ProblemError, unwrap } from "../errors";
import { nameParam, queryInput } from "../input";
import { rateLimit } from "../middleware/rate-limit";
import { rawMessage } from "../raw-message";
import { callTopic } from "../topic-call";

/** `POST /v1/topics/{topic}/requests`: publish a request and answer with its first reply. */
export const requestRoutes = new Hono<BrokerEnv>();

/**
 * Publishes the raw body as a request whose `replyTo` is a new inbox, and answers with the first
 * reply (200, the reply as on the wire), `504 reply_timeout` when none came within `?timeout=`,
 * or `503 no_responders` at once when no subscription or route of the topic could see it. A
 * requester that goes away cancels the wait: a reply after that is refused (410).
 */
requestRoutes.post("/:topic/requests", requireRight("publish"), rateLimit("publish"), async (c) => {
  const topic = nameParam(c, "topic");
  const { timeout } = queryInput(c, requestQuerySchema);
  if (c.req.header("reply-to") !== undefined) {
    throw new ProblemError(
      "invalid_request",
      "Reply-To is set by the broker on a request: its replies come to you",
    );
  }
  const input = await rawMessage(c, { publish: false, idempotency: false });
  const inbox = c.env.INBOX.getByName(newInbox());
  const signal = c.req.raw.signal;
  const cancel = () => void inbox.cancel().catch(() => undefined);
  signal.addEventListener("abort", cancel, { once: true });
  try {
    return c.json(unwrap(await inbox.ask(topic, input, timeout)), 200);
  } finally {
    signal.removeEventListener("abort", cancel);
  }
});
requestRoutes.all("/:topic/requests", methodNotAllowed("POST"));

/** `POST /v1/replies/{replyTo}`: a responder's reply, to an inbox or to a durable reply topic. */
export const replyRoutes = new Hono<BrokerEnv>();

/**
 * To an inbox (`_reply.…`): delivered to the requester waiting there (200 `{delivered: true}`), or
 * `410 gone` when none waits any more; never stored. Knowing the inbox's name, which only readers
 * of the request see, is what lets a credential reply to it. To a topic: published there with
 * the request's `Correlation-Id` (201, as a publish), which needs `publish` on that topic.
 */
replyRoutes.post("/:replyTo", rateLimit("publish"), async (c) => {
  const replyTo = c.req.param("replyTo");
  if (isInbox(replyTo)) {
    const { body, contentType, attributes } = await rawMessage(c, { publish: false, idempotency: false });
    const reply: Omit<ReplyMessage, "correlationId"> = {
      id: crypto.randomUUID(),
      publishedAt: Date.now(),
      contentType,
      attributes,
      ...encodeBody(contentType, body),
    };
    return c.json(unwrap(await c.env.INBOX.getByName(replyTo).reply(reply)), 200);
  }
  if (!isValidName(replyTo)) {
    throw new ProblemError(
      "invalid_name",
      `${JSON.stringify(replyTo).slice(0, 200)} is neither an inbox (_reply.…) nor a topic: use ${NAME_RULE}`,
    );
  }
  if (!can(c.get("principal"), "publish", replyTo)) {
    throw new ProblemError("forbidden", `this credential lacks "publish" on topic "${replyTo}"`);
  }
  const input = await rawMessage(c, { publish: false, idempotency: true });
  const keyed = input.idempotencyKey !== undefined;
  const [receipt] = unwrap(await callTopic(c.env, replyTo, (t) => t.publish([input]), { idempotent: keyed }));
  return c.json(receipt, 201);
});
replyRoutes.all("/:replyTo", methodNotAllowed("POST"));
