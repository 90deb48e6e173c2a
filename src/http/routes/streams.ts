import type { Context } from "hono";
import { Hono } from "hono";
import { can } from "../../auth/capabilities";
import { withoutCredentials } from "../../auth/credentials";
import { requireRight } from "../../auth/middleware";
import { validUntil } from "../../auth/tokens";
import { consumerQuerySchema, tailQuerySchema } from "../../protocol/http-consumers";
import { clientPlace, locationHint } from "../../protocol/placement";
import { isWebSocketUpgrade } from "../../protocol/ws-handshake";
import { type UpgradeOptions, upgradeRequest } from "../../topic/upgrade";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, ProblemError } from "../errors";
import { nameParam, queryInput } from "../input";
import { rateLimit, rateLimitKey } from "../middleware/rate-limit";

/** WebSocket upgrades: a subscription's consumers and the topic's live tail (DESIGN.md §5). */
export const streamRoutes = new Hono<BrokerEnv>();

/**
 * Hands a checked upgrade to the topic's object. The token stays here: the
 * object learns only what it may do (publish or not) and until when: the instant the token
 * stops being accepted, clock tolerance included, as for an SSE stream.
 */
async function upgrade(
  c: Context<BrokerEnv>,
  topic: string,
  extra: Partial<UpgradeOptions>,
): Promise<Response> {
  if (!isWebSocketUpgrade(c.req.raw)) {
    throw new ProblemError(
      "invalid_request",
      "this endpoint speaks WebSocket: send an Upgrade: websocket request",
      {
        status: 426,
        headers: { Upgrade: "websocket" },
      },
    );
  }
  const principal = c.get("principal");
  const options: UpgradeOptions = { topic, canPublish: can(principal, "publish", topic), ...extra };
  const until = validUntil(principal);
  if (until !== null) options.expiresAt = until;
  const subject = await rateLimitKey(principal, c.req.raw);
  if (subject !== null) options.subject = subject;
  if (principal.kind === "admin-key") options.privileged = true;
  // Where a relay for this client goes, should the topic hand its socket to one.
  const hint = locationHint(clientPlace(c.req.raw));
  if (hint !== undefined) options.hint = hint;
  return c.env.TOPIC.getByName(topic).fetch(upgradeRequest(withoutCredentials(c.req.raw), options));
}

/** Every upgrade is a connection: counted per client (see ../middleware/rate-limit.ts). */
const connectLimit = rateLimit("connect");

streamRoutes.get("/:topic/ws", requireRight("subscribe"), connectLimit, async (c) => {
  const topic = nameParam(c, "topic");
  const { after, epoch } = queryInput(c, tailQuerySchema);
  return upgrade(c, topic, { ...(after !== undefined && { after }), ...(epoch !== undefined && { epoch }) });
});
streamRoutes.all("/:topic/ws", methodNotAllowed("GET"));

streamRoutes.get("/:topic/subscriptions/:sub/ws", requireRight("subscribe"), connectLimit, async (c) => {
  const topic = nameParam(c, "topic");
  const subscription = nameParam(c, "sub");
  const { maxInFlight } = queryInput(c, consumerQuerySchema);
  return upgrade(c, topic, { subscription, ...(maxInFlight !== undefined && { maxInFlight }) });
});
streamRoutes.all("/:topic/subscriptions/:sub/ws", methodNotAllowed("GET"));
