import { Hono } from "hono";
import { requireRight } from "../../auth/middleware";
import { MintRequestSchema, mintToken } from "../../auth/mint";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, unwrap } from "../errors";
import { bodyInput } from "../input";

/**
 * `POST /v1/tokens` (admin on every topic): mints a short-lived token scoped by
 * `cap`, the way a server-side app hands its browser users subscribe rights
 * without sharing a secret. Signed with JWT_SECRET. A minted token never outlives nor
 * outranks the credential that minted it (see `mintToken`).
 */
export const tokenRoutes = new Hono<BrokerEnv>();

tokenRoutes.post("/", requireRight("admin"), async (c) => {
  const request = await bodyInput(c, MintRequestSchema);
  return c.json(unwrap(await mintToken(request, c.env, c.get("principal"))), 201);
});
tokenRoutes.all("/", methodNotAllowed("POST"));
