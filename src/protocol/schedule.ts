/**
 * When a message is delivered and until when it may be (DESIGN.md §3): `deliverAt` beside
 * `delay`, and `ttl` or `expiresAt`. Absolute times are RFC 3339 text or epoch milliseconds.
 */
import { parseDuration } from "./duration";
import { DURATION_SHAPE, type FieldShape, field, formatDuration } from "./fields";
import { LIMITS } from "./limits";

const RFC_3339 = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;
/** An instant as JSON Schema says it: epoch milliseconds, or RFC 3339 text. */
const INSTANT_SHAPE: FieldShape = {
  anyOf: [
    { type: "integer", minimum: 0 },
    { type: "string", format: "date-time" },
  ],
};

/** A `deliverAt` this far in the past is a mistake (seconds for milliseconds, say), not clock skew. */
export const DELIVER_AT_SKEW_MS = 5 * 60_000;
/** The longest time to live, ms. */
export const MAX_TTL_MS = 365 * 86_400_000;

/**
 * An instant as epoch ms: a safe integer, a string of digits (a query string), or RFC 3339 text.
 *
 * @example
 * parseInstant("2026-12-01T09:00:00Z"); // 1796115600000
 * parseInstant(1796115600000);          // 1796115600000
 */
export function parseInstant(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  if (/^\d{1,16}$/.test(value)) return Number(value);
  if (!RFC_3339.test(value)) return undefined;
  const ms = Date.parse(value.replace(" ", "T"));
  return Number.isNaN(ms) ? undefined : ms;
}

/** `deliverAt`: from a few minutes ago (delivered at once) to the longest delay from now. */
export const deliverAtSchema = field(
  `must be an RFC 3339 time or epoch ms, at most ${formatDuration(LIMITS.maxDelayMs)} from now and not in the past`,
  (value) => {
    const at = parseInstant(value);
    const now = Date.now();
    return at !== undefined && at >= now - DELIVER_AT_SKEW_MS && at <= now + LIMITS.maxDelayMs
      ? at
      : undefined;
  },
  INSTANT_SHAPE,
);

/** `ttl`: a duration from publishing. */
export const ttlSchema = field(
  `must be a duration between 1ms and ${formatDuration(MAX_TTL_MS)}`,
  (value) => {
    const ms = parseDuration(value);
    return ms !== undefined && ms >= 1 && ms <= MAX_TTL_MS ? ms : undefined;
  },
  DURATION_SHAPE,
);

/** `expiresAt`: a time after now. */
export const expiresAtSchema = field("must be an RFC 3339 time or epoch ms after now", (value) => {
  const at = parseInstant(value);
  return at !== undefined && at > Date.now() && at <= Date.now() + MAX_TTL_MS ? at : undefined;
}).meta(INSTANT_SHAPE);

/** What a publish says about time, before the checks across its fields. */
export interface ScheduleFields {
  delay?: number;
  deliverAt?: number;
  ttl?: number;
  expiresAt?: number;
}

/**
 * The checks across a publish's time fields: one of `delay` and `deliverAt`, one of `ttl` and
 * `expiresAt`, and never an expiry before the message is due. Returns a sentence, or `null`.
 *
 * @example
 * scheduleProblem({ delay: 1000, deliverAt: Date.now() }); // "give delay or deliverAt, not both"
 */
export function scheduleProblem(fields: ScheduleFields): string | null {
  if (fields.delay !== undefined && fields.deliverAt !== undefined)
    return "give delay or deliverAt, not both";
  if (fields.ttl !== undefined && fields.expiresAt !== undefined) return "give ttl or expiresAt, not both";
  const now = Date.now();
  const due = fields.deliverAt ?? now + (fields.delay ?? 0);
  const expires = fields.expiresAt ?? (fields.ttl === undefined ? undefined : now + fields.ttl);
  if (expires !== undefined && expires <= due)
    return "the message would expire before it is due: expiresAt (or ttl) must end after deliverAt (or delay)";
  return null;
}
