/**
 * Building blocks of the protocol's zod schemas, and `parseInput`, which turns a failed parse
 * into one sentence for the client. Every failure message is a predicate ("must be …") that
 * `parseInput` prefixes with the field's path: `ackTimeout must be a duration between 1s and 12h`.
 */
import * as z from "zod";
import { parseDuration } from "./duration";
import { type ErrorCode, fail, ok, type Result } from "./errors";

const SECOND = 1_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** What a field accepts, in JSON Schema words, for the API's OpenAPI document (src/http/openapi). */
export type FieldShape = Record<string, unknown>;

/**
 * A field checked by a plain function: `parse` returns the value to keep or `undefined` to
 * reject with `message`. zod still does the object structure; this keeps messages in our words.
 * `shape` says in JSON Schema what the field accepts (the check itself stays `parse`); with
 * `message` as its description, it is what `z.toJSONSchema` writes for the field.
 */
export function field<T>(message: string, parse: (value: unknown) => T | undefined, shape: FieldShape = {}) {
  return z
    .any()
    .transform((value, ctx): T => {
      const parsed = value === undefined ? undefined : parse(value);
      if (parsed !== undefined) return parsed;
      ctx.issues.push({
        code: "custom",
        input: value,
        message: value === undefined ? "is required" : message,
      });
      return z.NEVER;
    })
    .meta({ description: message, ...shape });
}

/** `90000` → `"90s"`, `43200000` → `"12h"`: durations as the messages name them. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["d", DAY],
    ["h", HOUR],
    ["m", 60 * SECOND],
    ["s", SECOND],
  ] as const) {
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A duration (ms or `30s`-style text) within bounds, as ms. */
/** A duration as JSON Schema says it: milliseconds, or text such as `30s`. */
export const DURATION_SHAPE: FieldShape = {
  anyOf: [
    { type: "number", minimum: 0 },
    { type: "string", pattern: "^\\d+$|^\\d+(\\.\\d+)?(ms|s|m|h|d)$" },
  ],
};

export const duration = (min: number, max: number) =>
  field(
    `must be a duration between ${formatDuration(min)} and ${formatDuration(max)}`,
    (value) => {
      const ms = parseDuration(value);
      return ms !== undefined && ms >= min && ms <= max ? ms : undefined;
    },
    DURATION_SHAPE,
  );

export const integer = (min: number, max: number) =>
  field(
    `must be an integer between ${min} and ${max}`,
    (value) =>
      Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max
        ? (value as number)
        : undefined,
    { type: "integer", minimum: min, maximum: max },
  );

/** An integer in a query string, where every value arrives as text. */
export const integerParam = (min: number, max: number) =>
  field(
    `must be an integer between ${min} and ${max}`,
    (value) => {
      const n = typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
      return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
    },
    { type: "integer", minimum: min, maximum: max },
  );

export const boolean = field(
  "must be true or false",
  (value) => (typeof value === "boolean" ? value : undefined),
  {
    type: "boolean",
  },
);

export const oneOf = <T extends string>(...choices: T[]) =>
  field(
    `must be ${choices.map((c) => `"${c}"`).join(" or ")}`,
    (value) => (choices.includes(value as T) ? (value as T) : undefined),
    { enum: choices },
  );

// ---- turning zod issues into one sentence --------------------------------------------------

/** Fields the broker assigns; a client that sends them gets told so rather than "unknown field". */
const BROKER_FIELDS = new Set([
  "seq",
  "id",
  "publishedAt",
  "attempt",
  "leaseExpiresAt",
  "epoch",
  "createdAt",
  "stats",
  "name",
  "topic",
]);

const TYPE_WORDS: Record<string, string> = {
  object: "a JSON object",
  record: "a JSON object",
  array: "an array",
  string: "a string",
  number: "a number",
  boolean: "true or false",
};

function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === "invalid_type") return `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
  return undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join("");
}

/**
 * Validates `input` against a protocol schema. A failure is one sentence about the first
 * problem (unknown fields first, since they usually explain the rest), coded `invalid_request`
 * unless the check says otherwise (an oversized message in a batch is `payload_too_large`).
 *
 * @example
 * const parsed = parseInput(pullSchema, { max: 5, wait: "2s" }); // ok({ max: 5, wait: 2000 })
 * parseInput(ackSchema, { seqs: [] }, "request body");
 * // fail("invalid_request", "seqs must be a non-empty array of at most 1000 seqs (positive integers)")
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  root = "request body",
): Result<z.output<S>> {
  const parsed = schema.safeParse(input, { error: defaultMessage });
  if (parsed.success) return ok(parsed.data);
  const issues = parsed.error.issues;
  const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0];
  if (!issue) return fail("invalid_request", `${root} is invalid`);
  const where = formatPath(issue.path) || root;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    if (BROKER_FIELDS.has(key))
      return fail(
        "invalid_request",
        `${formatPath([...issue.path, key])} is set by the broker and cannot be given`,
      );
    return fail("invalid_request", `${where} has an unknown field "${key}"`);
  }
  const code = issue.code === "custom" ? (issue.params?.code as ErrorCode | undefined) : undefined;
  return fail(code ?? "invalid_request", `${where} ${issue.message}`);
}
