import jsonata from "jsonata";
import { reservedPrefixOf } from "../protocol/attributes";
import { LIMITS } from "../protocol/limits";
import { jsonDepth } from "../protocol/message";
import { objectsIn } from "./json-walk";
import { BudgetExceeded, guard, jsonSizeExceeds } from "./transform-guards";

/**
 * Route transforms (DESIGN.md §3, "Transforms"): a JSONata expression evaluated on the message
 * `{data, attributes, key, topic, seq, publishedAt, contentType, replyTo, correlationId}` that
 * returns the message to forward, `{data, attributes?, key?}`. Its value's `data` becomes the new
 * body (JSON); `attributes` replaces the message's own, `key` its ordering key (`null` removes it).
 *
 * Guarded, because a route must not take its topic down: timers do not advance inside a Worker,
 * so the budget is counted in evaluation steps and depth, not time; every intermediate value is
 * bounded in size, and the result too. Regular expressions are refused (one backtracking regex can
 * run for longer than any step budget lets the rest), and so is `$eval`, which could build one.
 */

/** What one evaluation may spend. */
export const TRANSFORM_LIMITS = {
  /** Evaluation steps (each node of the expression each time it is evaluated). */
  steps: 100_000,
  /** Deepest nesting of evaluation (recursion included). */
  depth: 200,
  /** Most items in one sequence or array built while evaluating. */
  sequence: 100_000,
  /** Longest string built while evaluating, in characters. */
  stringLength: LIMITS.messageBytes,
  /** Longest expression, in characters. */
  expressionLength: 8 * 1024,
} as const;

/** The message a transform sees. */
export interface TransformInput {
  data?: unknown;
  dataBase64?: string;
  attributes: Record<string, string>;
  key?: string;
  topic: string;
  seq: number;
  publishedAt: number;
  contentType: string;
  replyTo?: string;
  correlationId?: string;
}

/** What a transform gives: the new body (JSON), and the attributes and key when it set them. */
export interface TransformOutput {
  body: Uint8Array;
  attributes?: Record<string, string>;
  /** `null`: the forwarded message has no key. */
  key?: string | null;
}

type Expression = ReturnType<typeof jsonata>;
type Outcome = { ok: true; value: TransformOutput } | { ok: false; detail: string };

const ENTRY = Symbol.for("jsonata.__evaluate_entry");
const EXIT = Symbol.for("jsonata.__evaluate_exit");
/** Most compiled expressions kept; routes are few, so this only bounds a pathological churn. */
const CACHE_SIZE = 256;
const compiled = new Map<string, Promise<Expression>>();
const utf8 = new TextEncoder();

/** A regex engine that refuses: the last line of defence behind the check of the expression. */
class NoRegex {
  constructor() {
    throw new BudgetExceeded("regular expressions are not allowed in transforms");
  }
}

/**
 * Why an expression cannot be a route's transform, or `null` when it can: it must parse, and
 * use neither regular expressions nor `$eval`.
 *
 * @example
 * checkTransform('{"data": {"order": data.id}}'); // null
 * checkTransform('{"data": $match(data.sku, /^BK/)}'); // "must not use regular expressions: …"
 */
export function checkTransform(expression: string): string | null {
  if (expression.length > TRANSFORM_LIMITS.expressionLength) {
    return `must be at most ${TRANSFORM_LIMITS.expressionLength} characters`;
  }
  let ast: unknown;
  try {
    ast = jsonata(expression).ast();
  } catch (error) {
    return `is not a valid JSONata expression: ${describe(error)}`;
  }
  const forbidden = findForbidden(ast);
  return forbidden === null ? null : `must not use ${forbidden}`;
}

/**
 * Evaluates a route's transform on one message, within its budget. Failures are results, never
 * throws: a failing expression fails that message, not the topic.
 */
export async function applyTransform(expression: string, input: TransformInput): Promise<Outcome> {
  let expr: Expression;
  try {
    expr = await compile(expression);
  } catch (error) {
    return { ok: false, detail: `the transform does not compile: ${describe(error)}` };
  }
  let value: unknown;
  try {
    value = await expr.evaluate(input);
  } catch (error) {
    return { ok: false, detail: `the transform failed: ${describe(error)}` };
  }
  return output(value);
}

function compile(expression: string): Promise<Expression> {
  const cached = compiled.get(expression);
  if (cached) return cached;
  const pending = build(expression);
  if (compiled.size >= CACHE_SIZE) compiled.clear();
  compiled.set(expression, pending);
  pending.catch(() => compiled.delete(expression));
  return pending;
}

async function build(expression: string): Promise<Expression> {
  const problem = checkTransform(expression);
  if (problem !== null) throw new Error(problem);
  const expr = jsonata(expression, {
    stack: TRANSFORM_LIMITS.depth,
    sequence: TRANSFORM_LIMITS.sequence,
    RegexEngine: NoRegex,
  } as never);
  // Steps are counted per evaluation: `environment.base` is the evaluation's own frame.
  const steps = new WeakMap<object, number>();
  expr.assign(ENTRY as never, (_node: unknown, _input: unknown, environment: { base: object }) => {
    const n = (steps.get(environment.base) ?? 0) + 1;
    if (n > TRANSFORM_LIMITS.steps)
      throw new BudgetExceeded(`used more than ${TRANSFORM_LIMITS.steps} steps`);
    steps.set(environment.base, n);
  });
  expr.assign(EXIT as never, (_node: unknown, _input: unknown, _environment: unknown, result: unknown) => {
    if (typeof result === "string" && result.length > TRANSFORM_LIMITS.stringLength) {
      throw new BudgetExceeded(`built a string longer than ${TRANSFORM_LIMITS.stringLength} characters`);
    }
    if (Array.isArray(result) && result.length > TRANSFORM_LIMITS.sequence) {
      throw new BudgetExceeded(`built an array of more than ${TRANSFORM_LIMITS.sequence} items`);
    }
  });
  await guard(expr, TRANSFORM_LIMITS);
  return expr;
}

/** The message a transform's value stands for, or why it stands for none. */
function output(value: unknown): Outcome {
  const fail = (detail: string): Outcome => ({ ok: false, detail: `the transform's value ${detail}` });
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail('must be an object {"data": …, "attributes"?: …, "key"?: …}');
  }
  const { data, attributes, key, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) return fail(`has an unknown field "${unknown.slice(0, 64)}"`);
  if (data === undefined) return fail('has no "data" (the body to forward)');
  if (jsonSizeExceeds(data, LIMITS.messageBytes)) return fail(`is larger than ${LIMITS.messageBytes} bytes`);
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (error) {
    return fail(`cannot be JSON: ${describe(error)}`);
  }
  if (text === undefined) return fail('has a "data" that is not JSON (a function?)');
  if (jsonDepth(text) > LIMITS.jsonDepth) return fail(`nests deeper than ${LIMITS.jsonDepth} levels`);
  const body = utf8.encode(text);
  if (body.byteLength > LIMITS.messageBytes) return fail(`is larger than ${LIMITS.messageBytes} bytes`);
  const out: TransformOutput = { body };
  if (attributes !== undefined) {
    const checked = checkAttributes(attributes);
    if (typeof checked === "string") return fail(checked);
    out.attributes = checked;
  }
  if (key !== undefined) {
    if (
      key !== null &&
      (typeof key !== "string" || key === "" || utf8.encode(key).byteLength > LIMITS.keyBytes)
    ) {
      return fail(`has a "key" that is not a string of 1 to ${LIMITS.keyBytes} bytes, nor null`);
    }
    out.key = key;
  }
  return { ok: true, value: out };
}

function checkAttributes(value: unknown): Record<string, string> | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return 'has "attributes" that are not an object of strings';
  }
  const entries = Object.entries(value);
  if (entries.length > LIMITS.attributes) return `has more than ${LIMITS.attributes} attributes`;
  let bytes = 0;
  const attributes: Record<string, string> = Object.create(null);
  for (const [name, v] of entries) {
    if (typeof v !== "string" || name === "")
      return `has an attribute "${name.slice(0, 64)}" that is not a string`;
    const prefix = reservedPrefixOf(name);
    if (prefix !== null)
      return `sets "${name.slice(0, 64)}": attribute names starting with "${prefix}" are the broker's`;
    bytes += utf8.encode(name).byteLength + utf8.encode(v).byteLength;
    attributes[name] = v;
  }
  if (bytes > LIMITS.attributeBytes) return `has more than ${LIMITS.attributeBytes} bytes of attributes`;
  return { ...attributes };
}

/** The first thing in an expression's syntax tree that a transform may not use, or `null`. */
function findForbidden(ast: unknown): string | null {
  for (const record of objectsIn(ast)) {
    if (record.type === "regex") {
      return "regular expressions: one can backtrack for longer than any budget (use $contains, $substringBefore … with strings)";
    }
    if (record.type === "variable" && record.value === "eval") return "$eval";
  }
  return null;
}

function describe(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const { message, code, position } = error as { message?: unknown; code?: unknown; position?: unknown };
    const where = typeof position === "number" ? ` at character ${position}` : "";
    const what = typeof message === "string" ? message : String(code ?? "unknown error");
    return `${what}${typeof code === "string" ? ` (${code})` : ""}${where}`;
  }
  return String(error);
}
