// An optional secret of the SQS layer (`wrangler secret put SQS_ACCESS_KEYS`). Absent from
// wrangler.toml, so `wrangler types` cannot see it; this script adds it to `Env` by declaration
// merging.

interface SqsVars {
  /** Access keys for SQS clients: `ID:SECRET` pairs, separated by commas or white space. */
  SQS_ACCESS_KEYS?: string;
}

interface Env extends SqsVars {}

declare namespace Cloudflare {
  interface Env extends SqsVars {}
}
