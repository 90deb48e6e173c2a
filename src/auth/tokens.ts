import {
  type CryptoKey,
  createLocalJWKSet,
  errors,
  importJWK,
  type JWTHeaderParameters,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { adminKeyMatches } from "./admin-key";
import { ADMIN_PRINCIPAL, type Principal, parseCap } from "./capabilities";
import type { AuthConfig } from "./config";

/** Seconds of clock skew allowed on `exp` and `nbf`: enough for a drifting issuer, no more. */
export const CLOCK_TOLERANCE_S = 30;

/**
 * The instant, epoch ms, from which a principal's credential is refused: a token's `exp` plus
 * the clock tolerance that verification grants it, or `null` for a credential that never
 * expires (the admin key, `AUTH=off`). Sockets and SSE streams end there, so a connection
 * lives exactly as long as its token would be accepted by a new request.
 *
 * @example
 * const until = validUntil(c.get("principal")); // exp 1700000000 → 1700000030000
 */
export function validUntil(principal: Principal): number | null {
  return principal.expiresAt === null ? null : principal.expiresAt + CLOCK_TOLERANCE_S * 1000;
}

export type Authenticated = { ok: true; principal: Principal } | { ok: false; detail: string };

type KeyResolver = (header: JWTHeaderParameters) => Promise<CryptoKey> | CryptoKey;

/** What it takes to verify tokens under one configuration, built once per isolate. */
interface Verifier {
  algorithms: string[];
  key: KeyResolver | null;
}

// Keyed by the config object, which `readAuthConfig` caches per distinct env values: the
// HMAC key and the public keys are imported once per isolate, not once per request.
const verifiers = new WeakMap<
  AuthConfig,
  Promise<{ ok: true; verifier: Verifier } | { ok: false; detail: string }>
>();

/**
 * Authenticates a credential: the admin key (constant-time compare) or a JWT signed with
 * JWT_SECRET (HS256) or one of JWT_PUBLIC_KEYS (ES256/RS256). The failure is a sentence
 * safe to show the client: it never echoes the token.
 *
 * @example
 * const result = await authenticate(token, readAuthConfig(env));
 * if (!result.ok) return c.json(problem("unauthorized", result.detail), 401);
 */
export async function authenticate(token: string, config: AuthConfig): Promise<Authenticated> {
  const prepared = await verifierFor(config);
  if (!prepared.ok) return prepared;
  if (config.adminKey !== null && (await adminKeyMatches(token, config.adminKey))) {
    return { ok: true, principal: ADMIN_PRINCIPAL };
  }
  const { verifier } = prepared;
  if (verifier.key === null) {
    return { ok: false, detail: "the token does not match the admin key, and this broker accepts no JWTs" };
  }
  if (token.split(".").length !== 3) {
    return { ok: false, detail: "the token is neither the admin key nor a JWT" };
  }

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, verifier.key, {
      algorithms: verifier.algorithms,
      requiredClaims: ["exp"],
      clockTolerance: CLOCK_TOLERANCE_S,
      ...(config.issuer !== null && { issuer: config.issuer }),
      ...(config.audience !== null && { audience: config.audience }),
    }));
  } catch (error) {
    return { ok: false, detail: describeFailure(error, verifier.algorithms) };
  }

  if (payload.cap === undefined) return { ok: false, detail: 'the token has no "cap" claim' };
  const cap = parseCap(payload.cap);
  if (!cap.ok) return { ok: false, detail: `the token's ${cap.detail}` };
  if (payload.sub !== undefined && typeof payload.sub !== "string") {
    return { ok: false, detail: 'the token\'s "sub" claim must be a string' };
  }
  return {
    ok: true,
    principal: {
      kind: "token",
      subject: payload.sub ?? null,
      grants: cap.grants,
      // jwtVerify has checked that exp is a number.
      expiresAt: (payload.exp as number) * 1000,
    },
  };
}

/**
 * Imports the keys of a configuration, once. A public key that the runtime cannot import
 * (a point off the curve, a short RSA modulus) is refused here, so the broker refuses
 * every request with a sentence naming the key rather than failing token by token.
 */
export function verifierFor(
  config: AuthConfig,
): Promise<{ ok: true; verifier: Verifier } | { ok: false; detail: string }> {
  let prepared = verifiers.get(config);
  if (!prepared) {
    prepared = buildVerifier(config);
    verifiers.set(config, prepared);
  }
  return prepared;
}

async function buildVerifier(
  config: AuthConfig,
): Promise<{ ok: true; verifier: Verifier } | { ok: false; detail: string }> {
  const secret =
    config.jwtSecret === null
      ? null
      : await crypto.subtle.importKey("raw", config.jwtSecret, { name: "HMAC", hash: "SHA-256" }, false, [
          "verify",
        ]);

  let jwks: ReturnType<typeof createLocalJWKSet> | null = null;
  if (config.publicKeys !== null) {
    for (const [index, jwk] of config.publicKeys.keys.entries()) {
      const alg = jwk.kty === "EC" ? "ES256" : "RS256";
      try {
        await importJWK(jwk, alg);
      } catch {
        const name = typeof jwk.kid === "string" ? `"${jwk.kid}"` : `#${index}`;
        return {
          ok: false,
          detail: `JWT_PUBLIC_KEYS key ${name} cannot be imported as an ${alg} public key.`,
        };
      }
    }
    jwks = createLocalJWKSet(config.publicKeys);
  }

  // The algorithm list is pinned per key kind, and the key follows from the token's
  // `alg` only among those: HS256 gets the secret and nothing else, so a token signed
  // with HMAC over a public key (algorithm confusion) meets the secret or is refused.
  const algorithms = [...(secret !== null ? ["HS256"] : []), ...config.publicAlgorithms];
  const key: KeyResolver | null =
    secret === null && jwks === null
      ? null
      : (header) => {
          if (header.alg === "HS256" && secret !== null) return secret;
          if (jwks !== null && header.alg !== "HS256") return jwks(header);
          throw new errors.JOSEAlgNotAllowed("alg not allowed");
        };
  return { ok: true, verifier: { algorithms, key } };
}

function describeFailure(error: unknown, algorithms: string[]): string {
  if (!(error instanceof errors.JOSEError)) return "the token could not be verified";
  switch (error.code) {
    case errors.JWTExpired.code:
      return "the token has expired";
    case errors.JWTClaimValidationFailed.code: {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      if (claim === "nbf") return "the token is not valid yet (nbf)";
      if (reason === "missing") return `the token has no "${claim}" claim`;
      if (claim === "iss") return "the token's issuer is not the one this broker accepts (iss)";
      if (claim === "aud") return "the token's audience is not this broker (aud)";
      return `the token's "${claim}" claim is invalid`;
    }
    case errors.JOSENotSupported.code:
      return "the token uses a JOSE feature this broker does not support (crit)";
    case errors.JOSEAlgNotAllowed.code:
      return `the token's algorithm is not accepted; this broker accepts ${algorithms.join(", ")}`;
    case errors.JWKSNoMatchingKey.code:
      return "no configured public key matches the token (kid or alg)";
    case errors.JWKSMultipleMatchingKeys.code:
      return "several configured public keys match the token: it must name one with kid";
    case errors.JWSSignatureVerificationFailed.code:
      return "the token's signature is invalid";
    default:
      return "the token is malformed";
  }
}
