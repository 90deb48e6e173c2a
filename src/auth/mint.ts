import { SignJWT } from "jose";
import { z } from "zod";
import { parseDuration } from "../protocol/duration";
import { fail, ok, type Result } from "../protocol/errors";
import { type Cap, CapSchema, missingRight, type Principal } from "./capabilities";
import { type AuthVars, readAuthConfig } from "./config";
import { DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_TTL_MS, MIN_TOKEN_TTL_MS } from "./rights";

/**
 * Body of `POST /v1/tokens`: `{cap, ttl?, sub?}`, `ttl` a duration (`15m`, `24h`, ms).
 *
 * @example
 * MintRequestSchema.parse({ cap: { "orders.*": ["publish"] }, ttl: "1h" });
 */
export const MintRequestSchema = z.strictObject({
  cap: CapSchema,
  ttl: z.union([z.number(), z.string()]).optional(),
  sub: z.string().min(1).max(256).optional(),
});

export interface MintRequest {
  cap: Cap;
  /** A duration (`"15m"`, `"24h"`, or ms); one hour when absent. */
  ttl?: number | string;
  sub?: string;
}

export interface MintedToken {
  token: string;
  /** Epoch ms at which the token expires. */
  expiresAt: number;
}

/**
 * Mints an HS256 token with JWT_SECRET: `cap`, `exp`, `iat`, and `iss`/`aud` when the
 * broker checks them (a token the broker itself would refuse is never minted). The token never
 * gives more than its minter holds: a pattern or right the minter lacks is `forbidden`, and a
 * `ttl` that would outlive the minter's own token is refused (`invalid_request`, saying until
 * when it may live) rather than cut short behind the caller's back. The admin key and `AUTH=off`
 * hold everything and never expire.
 *
 * @example
 * const minted = await mintToken({ cap: { "chat.room-1": ["subscribe"] }, ttl: "15m" }, c.env, principal);
 * if (minted.ok) return c.json(minted.value, 201);
 */
export async function mintToken(
  request: MintRequest,
  env: AuthVars,
  minter: Principal,
): Promise<Result<MintedToken>> {
  const config = readAuthConfig(env);
  if (config.jwtSecret === null) {
    return fail(
      "invalid_request",
      "minting tokens needs JWT_SECRET: set it with `wrangler secret put JWT_SECRET`",
    );
  }
  const cap = CapSchema.safeParse(request.cap);
  if (!cap.success) return fail("invalid_request", "cap must map topic patterns to rights");
  const ttl = parseDuration(request.ttl ?? DEFAULT_TOKEN_TTL_MS);
  if (ttl === undefined || ttl < MIN_TOKEN_TTL_MS || ttl > MAX_TOKEN_TTL_MS) {
    return fail("invalid_request", "ttl must be a duration from 1s to 366d, like 15m or 24h");
  }
  for (const [pattern, rights] of Object.entries(cap.data)) {
    const missing = missingRight(minter, { pattern, rights });
    if (missing !== null) {
      return fail(
        "forbidden",
        `this credential cannot grant "${missing}" on "${pattern}": it does not hold that right there`,
      );
    }
  }

  const nowS = Math.floor(Date.now() / 1000);
  const expS = nowS + Math.ceil(ttl / 1000);
  if (minter.expiresAt !== null && expS * 1000 > minter.expiresAt) {
    const until = new Date(minter.expiresAt).toISOString();
    const left = Math.floor(minter.expiresAt / 1000) - nowS;
    return fail(
      "invalid_request",
      left < 1
        ? `this credential expired at ${until} and can mint no more tokens`
        : `ttl must not outlive the credential minting the token, which expires at ${until}: at most ${left}s`,
    );
  }
  const jwt = new SignJWT({ cap: cap.data })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(nowS)
    .setExpirationTime(expS);
  if (request.sub !== undefined) jwt.setSubject(request.sub);
  if (config.issuer !== null) jwt.setIssuer(config.issuer);
  if (config.audience !== null) jwt.setAudience(config.audience);
  return ok({ token: await jwt.sign(config.jwtSecret), expiresAt: expS * 1000 });
}
