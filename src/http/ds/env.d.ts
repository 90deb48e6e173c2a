// An optional per-deployment setting of the Durable Streams layer, set as a wrangler var
// (`[vars]` or `--var`). Absent from wrangler.toml by default, so `wrangler types` cannot see it;
// this script adds it to `Env` by declaration merging.

interface StreamVars {
  /** How long a Durable Streams long-poll waits for data before answering 204, ms (default 20,000). */
  DS_LONG_POLL_MS?: string;
}

interface Env extends StreamVars {}

declare namespace Cloudflare {
  interface Env extends StreamVars {}
}
