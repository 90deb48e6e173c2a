// Secrets of the auth layer (DESIGN.md §6). They are set with `wrangler secret put` or
// `.dev.vars`, never in wrangler.toml, so `wrangler types` cannot see them; this file adds
// them to the generated `Env` by declaration merging. It must stay a script (no import or
// export) for the merge to reach the global `Env`.

interface AuthSecrets {
  /** Shared secret for server-side apps: a bearer token that is admin on every topic. */
  ADMIN_KEY?: string;
  /** HS256 key for tokens (at least 32 bytes). */
  JWT_SECRET?: string;
  /** A JSON Web Key Set of ES256 (P-256) or RS256 public keys for tokens. */
  JWT_PUBLIC_KEYS?: string;
  /** Required `iss` of tokens, when set. */
  JWT_ISSUER?: string;
  /** Required `aud` of tokens, when set. */
  JWT_AUDIENCE?: string;
  /** Comma-separated origins allowed to open WebSockets, when set. */
  ALLOWED_ORIGINS?: string;
}

interface Env extends AuthSecrets {}

declare namespace Cloudflare {
  interface Env extends AuthSecrets {}
}
