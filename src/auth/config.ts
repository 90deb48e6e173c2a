import { z } from "zod";
import { parseAllowedOrigins } from "./origin";

/** An ES256 or RS256 public key as it appears in `JWT_PUBLIC_KEYS`. */
export type PublicJwk = z.infer<typeof PublicJwkSchema>;

/** How the broker authenticates, read from its vars and secrets (DESIGN.md §6). */
export interface AuthConfig {
  mode: "required" | "off";
  /**
   * Why every request is refused, when the configuration cannot be used. Set, the broker
   * answers 401 with this sentence to everything: a half-read configuration never
   * authenticates anyone.
   */
  refusal: string | null;
  adminKey: string | null;
  /** The HS256 key, as bytes. */
  jwtSecret: Uint8Array<ArrayBuffer> | null;
  publicKeys: { keys: PublicJwk[] } | null;
  /** Algorithms the public keys can verify: ES256 for P-256 keys, RS256 for RSA keys. */
  publicAlgorithms: ("ES256" | "RS256")[];
  issuer: string | null;
  audience: string | null;
  /** Origins allowed to open WebSockets; `null` allows every origin. */
  allowedOrigins: string[] | null;
}

export const NO_CREDENTIALS_DETAIL =
  "This broker has no credentials configured. Set one with `wrangler secret put ADMIN_KEY` (or JWT_SECRET / JWT_PUBLIC_KEYS), or set AUTH=off for local development.";

/** Shortest accepted ADMIN_KEY: a short shared secret can be guessed online. */
export const MIN_ADMIN_KEY_LENGTH = 16;
/** Shortest accepted JWT_SECRET, in bytes: RFC 7518 §3.2 wants a key as long as the hash. */
export const MIN_JWT_SECRET_BYTES = 32;

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, "must be base64url");

// Public keys only: a JWK with private members (`d`, `p`, …) or a symmetric one (`oct`)
// in a set meant for verification is a configuration mistake worth refusing.
const EcJwkSchema = z.looseObject({
  kty: z.literal("EC"),
  crv: z.literal("P-256", "must be P-256 (ES256)"),
  x: base64url,
  y: base64url,
  alg: z.literal("ES256", "must be ES256 for a P-256 key").optional(),
  d: z.undefined("is private key material: publish only the public key").optional(),
});
const RsaJwkSchema = z.looseObject({
  kty: z.literal("RSA"),
  n: base64url,
  e: base64url,
  alg: z.literal("RS256", "must be RS256 for an RSA key").optional(),
  d: z.undefined("is private key material: publish only the public key").optional(),
});
const PublicJwkSchema = z.discriminatedUnion("kty", [EcJwkSchema, RsaJwkSchema], {
  error: "kty must be EC (P-256) or RSA",
});
const JwksSchema = z.object({
  keys: z
    .array(
      PublicJwkSchema.and(
        z.looseObject({
          kid: z.string().min(1).max(256).optional(),
          use: z.literal("sig", "must be sig").optional(),
        }),
      ),
    )
    .min(1, "must hold at least one key")
    .max(32, "must hold at most 32 keys"),
});

const AUTH_VARS = [
  "AUTH",
  "ADMIN_KEY",
  "JWT_SECRET",
  "JWT_PUBLIC_KEYS",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "ALLOWED_ORIGINS",
] as const;

/** The part of `Env` this module reads; tests and tools may pass just these. */
export type AuthVars = { [K in (typeof AUTH_VARS)[number]]?: string | undefined };

// Parsed once per isolate per distinct set of values: production has one, tests a few.
const cache = new Map<string, AuthConfig>();
const CACHE_ENTRIES = 16;

/**
 * Reads the auth configuration from the worker's env. Never throws: a configuration
 * that cannot be used yields `refusal`, and the middleware refuses every request with it.
 *
 * @example
 * const config = readAuthConfig(c.env);
 * if (config.refusal) return c.json(problem("unauthorized", config.refusal), 401);
 */
export function readAuthConfig(env: AuthVars): AuthConfig {
  const key = JSON.stringify(AUTH_VARS.map((name) => env[name] ?? null));
  const cached = cache.get(key);
  if (cached) return cached;
  const config = parseAuthConfig(env);
  if (cache.size >= CACHE_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, config);
  return config;
}

function parseAuthConfig(env: AuthVars): AuthConfig {
  const config: AuthConfig = {
    mode: "required",
    refusal: null,
    adminKey: nonEmpty(env.ADMIN_KEY),
    jwtSecret: null,
    publicKeys: null,
    publicAlgorithms: [],
    issuer: nonEmpty(env.JWT_ISSUER),
    audience: nonEmpty(env.JWT_AUDIENCE),
    allowedOrigins: null,
  };
  const refuse = (refusal: string): AuthConfig => ({ ...config, refusal });

  const origins = parseAllowedOrigins(env.ALLOWED_ORIGINS);
  if (!origins.ok) return refuse(origins.detail);
  config.allowedOrigins = origins.origins;

  const mode = (env.AUTH ?? "").trim().toLowerCase();
  // Anything but "off" means auth; an unrecognised value is refused rather than guessed at.
  if (mode !== "" && mode !== "required" && mode !== "off") {
    return refuse(`AUTH must be "required" or "off", not ${JSON.stringify(env.AUTH)}.`);
  }
  if (mode === "off") config.mode = "off";

  // Credentials are read (and a malformed one refused) even with AUTH=off: tokens can
  // still be minted locally, and a broken secret should surface before it is relied on.
  if (config.adminKey !== null && config.adminKey.length < MIN_ADMIN_KEY_LENGTH) {
    return refuse(
      `ADMIN_KEY must be at least ${MIN_ADMIN_KEY_LENGTH} characters long; generate one with \`openssl rand -base64 32\`.`,
    );
  }

  const secret = nonEmpty(env.JWT_SECRET);
  if (secret !== null) {
    // Copied into a fresh ArrayBuffer: the typings of workerd and the DOM disagree on encode().
    const bytes = new Uint8Array(new TextEncoder().encode(secret));
    if (bytes.length < MIN_JWT_SECRET_BYTES) {
      return refuse(
        `JWT_SECRET must be at least ${MIN_JWT_SECRET_BYTES} bytes long (HS256 needs a 256-bit key); generate one with \`openssl rand -base64 32\`.`,
      );
    }
    config.jwtSecret = bytes;
  }

  const jwks = nonEmpty(env.JWT_PUBLIC_KEYS);
  if (jwks !== null) {
    const parsed = parseJwks(jwks);
    if (!parsed.ok) return refuse(parsed.detail);
    config.publicKeys = parsed.jwks;
    config.publicAlgorithms = [
      ...new Set(parsed.jwks.keys.map((k) => (k.kty === "EC" ? "ES256" : "RS256") as "ES256" | "RS256")),
    ];
  }

  if (
    config.mode === "required" &&
    config.adminKey === null &&
    config.jwtSecret === null &&
    config.publicKeys === null
  ) {
    return refuse(NO_CREDENTIALS_DETAIL);
  }
  return config;
}

function parseJwks(text: string): { ok: true; jwks: { keys: PublicJwk[] } } | { ok: false; detail: string } {
  const example = 'a JSON Web Key Set like {"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"…","y":"…"}]}';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parser's message quotes the input; say only that it is not JSON.
    return { ok: false, detail: `JWT_PUBLIC_KEYS is not valid JSON: set it to ${example}.` };
  }
  const parsed = JwksSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.map(String).join(".") : "the set";
    return {
      ok: false,
      detail: `JWT_PUBLIC_KEYS is not a usable key set (${where}: ${issue?.message ?? "malformed"}): set it to ${example}.`,
    };
  }
  return { ok: true, jwks: parsed.data as { keys: PublicJwk[] } };
}

const nonEmpty = (value: string | undefined): string | null => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
};
