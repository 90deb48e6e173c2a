// Optional per-deployment overrides of the topic's limits, set as wrangler vars
// (`[vars]` or `--var`). Absent from wrangler.toml by default, so `wrangler types`
// cannot see them; this script adds them to `Env` by declaration merging.

interface TopicLimitVars {
  /** Most WebSockets one topic holds open (default 10,000). */
  MAX_SOCKETS_PER_TOPIC?: string;
  /** Most WebSockets one client (token subject or address) holds on one topic (default 100). */
  MAX_SOCKETS_PER_SUBJECT?: string;
  /** Most long-polls parked on one topic at once (default 1,000). */
  MAX_LONG_POLLS_PER_TOPIC?: string;
  /** `true` lets push subscriptions call `http:` and loopback receivers (local development only). */
  PUSH_ALLOW_PRIVATE?: string;
  /** Live sockets a topic holds before new tails go to relays, and most sockets per relay (default 5,000). */
  MAX_SOCKETS_PER_RELAY?: string;
  /** Most relays one topic feeds (default 100). */
  MAX_RELAYS_PER_TOPIC?: string;
}

// An optional binding: a Workers Analytics Engine dataset the topics write data points to
// (README.md, "Analytics Engine"). Commented out in wrangler.toml, so `wrangler types` cannot see it.
interface TopicOptionalBindings {
  ANALYTICS?: AnalyticsEngineDataset;
}

interface Env extends TopicLimitVars, TopicOptionalBindings {}

declare namespace Cloudflare {
  interface Env extends TopicLimitVars, TopicOptionalBindings {}
}
