/**
 * The parts of a topic's config `PUT` that routing brought (DESIGN.md §3): `routes` and `schema`,
 * as zod schemas whose output is what the topic's object takes. What only the worker can check
 * (a transform's syntax, a schema's refs, rights on targets, loops) is checked there, before the
 * object is called.
 */
import * as z from "zod";
import { duration, field, integer } from "./fields";
import { filterSchema } from "./filter-schema";
import { isValidName, NAME_PATTERN, NAME_RULE } from "./names";
import type { JsonSchema, RouteConfig } from "./topic-rpc";

const SECOND = 1_000;
const HOUR = 3_600_000;

/** Bounds on what a topic's config carries. */
/** Retry delays, shared by subscriptions and routes: each at most 12 h, and `min` ≤ `max`. */
export const backoffSchema = z
  .strictObject({ min: duration(0, 12 * HOUR), max: duration(0, 12 * HOUR) })
  .refine((backoff) => backoff.min <= backoff.max, {
    path: ["min"],
    message: "must not exceed backoff.max",
  });

/** Where messages out of attempts are copied, shared by subscriptions and routes: a topic, or null. */
export const deadLetterTopicSchema = field(`must be ${NAME_RULE}, or null`, (value) =>
  value === null || (typeof value === "string" && isValidName(value)) ? (value as string | null) : undefined,
).meta({ type: ["string", "null"], pattern: NAME_PATTERN });

export const TOPIC_CONFIG_LIMITS = {
  /** Most routes on one topic. */
  routes: 32,
  /** Longest transform expression, in characters. */
  transformLength: 8 * 1024,
  /** Largest schema, in characters of JSON. */
  schemaCharacters: 32 * 1024,
} as const;

/** What a route is when the `PUT` leaves a field out. */
export const ROUTE_DEFAULTS = {
  maxAttempts: 5,
  backoff: { min: SECOND, max: 60 * SECOND },
} as const;

const topicName = (what: string) =>
  field(`must be ${NAME_RULE}${what}`, (value) =>
    typeof value === "string" && isValidName(value) ? value : undefined,
  ).meta({ type: "string", pattern: NAME_PATTERN });

const routeSchema = z
  .strictObject({
    name: topicName(""),
    to: topicName(""),
    filter: filterSchema.optional(),
    transform: field(
      `must be a JSONata expression of at most ${TOPIC_CONFIG_LIMITS.transformLength} characters, or null`,
      (value) =>
        value === null ||
        (typeof value === "string" &&
          value.trim() !== "" &&
          value.length <= TOPIC_CONFIG_LIMITS.transformLength)
          ? (value as string | null)
          : undefined,
    )
      .meta({ type: ["string", "null"], maxLength: TOPIC_CONFIG_LIMITS.transformLength })
      .optional(),
    maxAttempts: integer(1, 1000).optional(),
    backoff: backoffSchema.optional(),
    deadLetterTopic: deadLetterTopicSchema.optional(),
  })
  .transform(
    (route): RouteConfig => ({
      name: route.name,
      to: route.to,
      filter: route.filter ?? null,
      transform: route.transform ?? null,
      maxAttempts: route.maxAttempts ?? ROUTE_DEFAULTS.maxAttempts,
      backoff: route.backoff ?? { ...ROUTE_DEFAULTS.backoff },
      deadLetterTopic: route.deadLetterTopic ?? null,
    }),
  );

/**
 * `routes` of a topic `PUT`: the whole list (it replaces the one before), each with a unique name.
 *
 * @example
 * parseInput(routesSchema, [{ name: "eu-orders", to: "orders.eu", filter: { attributes: { region: "eu" } } }]);
 */
export const routesSchema = z
  .array(routeSchema, { error: "must be an array of routes" })
  .max(TOPIC_CONFIG_LIMITS.routes, { error: `must have at most ${TOPIC_CONFIG_LIMITS.routes} routes` })
  .superRefine((routes, ctx) => {
    const seen = new Set<string>();
    for (const [i, route] of routes.entries()) {
      if (seen.has(route.name)) {
        ctx.addIssue({
          code: "custom",
          path: [i, "name"],
          message: `must be unique: "${route.name}" is taken`,
        });
      }
      seen.add(route.name);
    }
  });

/** `schema` of a topic `PUT`: a JSON Schema 2020-12 document (an object or a boolean), or `null`. */
export const topicSchemaSchema = z
  .unknown()
  .transform((value, ctx): JsonSchema | null => {
    const max = TOPIC_CONFIG_LIMITS.schemaCharacters;
    if (value === null || typeof value === "boolean") return value;
    if (typeof value !== "object" || Array.isArray(value)) {
      ctx.issues.push({
        code: "custom",
        input: value,
        message: "must be a JSON Schema (an object, true or false), or null",
      });
      return z.NEVER;
    }
    if (JSON.stringify(value).length > max) {
      ctx.issues.push({ code: "custom", input: value, message: `must be at most ${max} characters of JSON` });
      return z.NEVER;
    }
    return value as JsonSchema;
  })
  .meta({
    description: "a JSON Schema (2020-12) every JSON message must fit, or null for none",
    type: ["object", "boolean", "null"],
  });
