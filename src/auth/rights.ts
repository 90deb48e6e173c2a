/**
 * What a token grants: the rights, the topic patterns they apply to, and how long a minted
 * token may live. This module imports nothing, so that plain Node scripts (the command line
 * tool) load it as it is, with the same rules the broker enforces.
 */

/** Every right, weakest first. `admin` implies the other two. */
export const RIGHTS = ["publish", "subscribe", "admin"] as const;

/** What a principal may do on a topic. */
export type Right = (typeof RIGHTS)[number];

/**
 * A prefix pattern: an optional name-shaped prefix followed by a single `*` (`orders.*`, `*`).
 * The other kind of pattern is an exact topic name (`NAME_RE` in src/protocol/names.ts).
 */
export const PREFIX_PATTERN_RE = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,126})?\*$/;

/** Most patterns one `cap` claim may hold: matching is linear in this, so it is bounded. */
export const MAX_GRANTS = 64;

/** Lifetime of a minted token when none is asked for. */
export const DEFAULT_TOKEN_TTL_MS = 3_600_000;
/** Shortest lifetime of a minted token. */
export const MIN_TOKEN_TTL_MS = 1_000;
/** Longest lifetime of a minted token: a year. Longer-lived access belongs to the admin key. */
export const MAX_TOKEN_TTL_MS = 366 * 86_400_000;
