/**
 * What consumers send over HTTP (DESIGN.md §4): subscription config, the pull, ack, nack, extend
 * and seek bodies, and the query strings of the consumer and live-tail sockets. Validate with
 * `parseInput`.
 */
import * as z from "zod";
import { boolean, duration, field, integer, integerParam } from "./fields";
import { filterSchema } from "./filter-schema";
import { LIMITS } from "./limits";
import { pushPatchSchema } from "./push-config";
import { backoffSchema, deadLetterTopicSchema } from "./topic-config";
import type { SeekTarget, StartAt } from "./topic-rpc";
import { MAX_IN_FLIGHT } from "./ws-frames";

const SECOND = 1_000;
const HOUR = 3_600_000;

// ---- subscriptions -------------------------------------------------------------------------

/** `{seq: n}` or `{time: epochMs}`, nothing else. */
function position(value: unknown): { seq: number } | { time: number } | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  const [key, n] = entries[0] ?? [];
  if (entries.length !== 1 || !Number.isSafeInteger(n) || (n as number) < 0) return undefined;
  if (key === "seq") return { seq: n as number };
  if (key === "time") return { time: n as number };
  return undefined;
}

const POSITION_SHAPES = [
  {
    type: "object",
    properties: { seq: { type: "integer", minimum: 0 } },
    required: ["seq"],
    additionalProperties: false,
  },
  {
    type: "object",
    properties: { time: { type: "integer", minimum: 0 } },
    required: ["time"],
    additionalProperties: false,
  },
];

const startAt = field<StartAt>(
  'must be "earliest", "latest", {"seq": n} or {"time": epochMs}',
  (value) => (value === "earliest" || value === "latest" ? value : position(value)),
  { anyOf: [{ enum: ["earliest", "latest"] }, ...POSITION_SHAPES] },
);

const ackTimeout = duration(SECOND, 12 * HOUR);

/**
 * `PUT /v1/topics/{topic}/subscriptions/{sub}`: a partial update of the subscription's config.
 *
 * @example
 * parseInput(subscriptionPutSchema, { ackTimeout: "30s", backoff: { min: "1s", max: "5m" } });
 * // ok({ ackTimeout: 30000, backoff: { min: 1000, max: 300000 } })
 */
export const subscriptionPutSchema = z.strictObject({
  startAt: startAt.optional(),
  ackTimeout: ackTimeout.optional(),
  maxAttempts: field("must be an integer between 1 and 1000, or null", (value) =>
    value === null || (Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 1000)
      ? (value as number | null)
      : undefined,
  )
    .meta({ type: ["integer", "null"], minimum: 1, maximum: 1000 })
    .optional(),
  backoff: backoffSchema.optional(),
  deadLetterTopic: deadLetterTopicSchema.optional(),
  filter: filterSchema.optional(),
  ordered: boolean.optional(),
  paused: boolean.optional(),
  push: pushPatchSchema.nullable().optional(),
});

const seqs = field(
  `must be a non-empty array of at most ${LIMITS.readLimit} seqs (positive integers)`,
  (value) =>
    Array.isArray(value) &&
    value.length > 0 &&
    value.length <= LIMITS.readLimit &&
    value.every((n) => Number.isSafeInteger(n) && n > 0)
      ? (value as number[])
      : undefined,
).meta({ type: "array", items: { type: "integer", minimum: 1 }, minItems: 1, maxItems: LIMITS.readLimit });

/** `POST …/pull`. */
export const pullSchema = z.strictObject({
  max: integer(1, LIMITS.readLimit).default(10),
  wait: duration(0, LIMITS.pullWaitMs).default(0),
});

/** The epoch of a topic, as `hello`, pulls and reads name it. */
export const epochSchema = field(
  "must be the epoch string of the topic (from a pull, a read or hello)",
  (value) => (typeof value === "string" && /^[0-9a-f]{1,64}$/.test(value) ? value : undefined),
).meta({ type: "string", pattern: "^[0-9a-f]{1,64}$" });

/**
 * `POST …/ack`. `epoch`, when given, must be the topic's current one: an ack meant for a topic
 * that was deleted and re-created is refused rather than applied to the new topic's messages.
 */
export const ackSchema = z.strictObject({ seqs, epoch: epochSchema.optional() });

/** `POST …/nack`: `delay` postpones the redelivery (otherwise the subscription's backoff applies). */
export const nackSchema = z.strictObject({
  seqs,
  delay: duration(0, 12 * HOUR).optional(),
  epoch: epochSchema.optional(),
});

/** `POST …/extend`: `ackTimeout` is the new lease length, from now. */
export const extendSchema = z.strictObject({
  seqs,
  ackTimeout: ackTimeout.optional(),
  epoch: epochSchema.optional(),
});

/** `POST …/seek`. */
export const seekSchema = z.strictObject({
  to: field<SeekTarget>('must be "earliest", "latest", a seq or {"time": epochMs}', (value) => {
    if (value === "earliest" || value === "latest") return value;
    if (Number.isSafeInteger(value) && (value as number) >= 0) return value as number;
    const target = position(value);
    return target && "time" in target ? target : undefined;
  }).meta({ anyOf: [{ enum: ["earliest", "latest"] }, { type: "integer", minimum: 0 }, POSITION_SHAPES[1]] }),
});

// ---- streams -------------------------------------------------------------------------------

/** `GET /v1/topics/{topic}/ws` query: where a live tail resumes, and in which epoch. */
export const tailQuerySchema = z.object({
  after: integerParam(0, Number.MAX_SAFE_INTEGER).optional(),
  epoch: epochSchema.optional(),
});

/** `GET …/subscriptions/{sub}/ws` query: the consumer's credit from the first message on. */
export const consumerQuerySchema = z.object({
  maxInFlight: integerParam(0, MAX_IN_FLIGHT).optional(),
});

/** `Last-Event-ID` of an SSE reconnect: the seq of the last event received. */
export const lastEventIdSchema = integerParam(0, Number.MAX_SAFE_INTEGER);
