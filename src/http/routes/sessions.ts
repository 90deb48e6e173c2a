import { Hono } from "hono";
import { withoutCredentials } from "../../auth/credentials";
import { validUntil } from "../../auth/tokens";
import { NO_HINT, sessionName, sessionUpgradeRequest } from "../../protocol/edge-rpc";
import { clientPlace, locationHint } from "../../protocol/placement";
import { DEFAULT_MAX_SUBSCRIPTIONS } from "../../protocol/session-frames";
import { isWebSocketUpgrade } from "../../protocol/ws-handshake";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, ProblemError } from "../errors";
import { rateLimit, rateLimitKey } from "../middleware/rate-limit";

/** `GET /v1/ws`: one connection for many subscriptions, held by a session near the client (DESIGN.md §5). */
export const sessionRoutes = new Hono<BrokerEnv>();

/** A deployment's override of a limit (a wrangler var), when it is a positive integer. */
const positiveInt = (value: string | undefined): number | undefined => {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

/**
 * Opens a session: an edge object of its own, placed near the client, that checks each subscribe
 * against the credential's grants. Any valid credential may connect; rights are per topic, at
 * subscribe time. The token itself stays here: the session learns only what it grants and until when.
 */
sessionRoutes.get("/ws", rateLimit("connect"), async (c) => {
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
  const hint = locationHint(clientPlace(c.req.raw));
  const name = sessionName(hint ?? NO_HINT, crypto.randomUUID());
  const namespace = c.env.EDGE;
  const stub = namespace.get(
    namespace.idFromName(name),
    hint === undefined ? undefined : { locationHint: hint },
  );
  const request = sessionUpgradeRequest(withoutCredentials(c.req.raw), {
    grants: principal.grants.map((g) => ({ pattern: g.pattern, rights: [...g.rights] })),
    subject: await rateLimitKey(principal, c.req.raw),
    privileged: principal.kind === "admin-key",
    expiresAt: validUntil(principal),
    maxSubscriptions: positiveInt(c.env.MAX_SUBSCRIPTIONS_PER_SESSION) ?? DEFAULT_MAX_SUBSCRIPTIONS,
  });
  return stub.fetch(request);
});
sessionRoutes.all("/ws", methodNotAllowed("GET"));
