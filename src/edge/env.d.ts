// Optional per-deployment overrides of the limits of sessions, set as wrangler vars (`[vars]` or
// `--var`). Absent from wrangler.toml by default, so `wrangler types` cannot see them; this
// script adds them to `Env` by declaration merging.

interface SessionLimitVars {
  /** Most subscriptions one `/v1/ws` connection carries (default 128). */
  MAX_SUBSCRIPTIONS_PER_SESSION?: string;
}

interface Env extends SessionLimitVars {}

declare namespace Cloudflare {
  interface Env extends SessionLimitVars {}
}
