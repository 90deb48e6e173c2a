import {
  type Comparison,
  type FilterNode,
  type FilterPattern,
  type Matcher,
  needsBody,
  type ObjectNode,
  parseFilter,
  type ValueNode,
} from "../protocol/filter-pattern";
import { LIMITS } from "../protocol/limits";
import { isJsonType, isTextType, jsonDepth } from "../protocol/message";

/**
 * A message as a filter sees it: its attributes (as stored: JSON text or null, or as published),
 * and, for filters that look at the body, its content type and bytes.
 */
export interface Filterable {
  attributes: string | null | Record<string, string>;
  content_type?: string;
  body?: ArrayBuffer | Uint8Array;
}

/** A filter compiled once: whether it needs the body, and the test itself. */
export interface CompiledFilter {
  readonly needsBody: boolean;
  test(message: Filterable): boolean;
}

/** What a compiled node tests: a message's attributes and its body (parsed only when asked). */
interface View {
  attributes: Record<string, string>;
  data(): unknown;
}

type ObjectTest = (value: unknown, inAttributes: boolean) => boolean;

const compiled = new WeakMap<FilterPattern, CompiledFilter>();
/** A message's parsed body, kept while the message object lives: many filters, one parse. */
const bodies = new WeakMap<Filterable, { data: unknown }>();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Compiles a subscription's or route's filter once (cached by the config object, which is
 * replaced whenever the config changes), or `null` for no filter. A filter that no longer parses
 * (it was stored by an older release and a bound has since tightened) matches nothing rather than
 * everything: it was validated when it was put, so this only guards against a bug.
 *
 * @example
 * const filter = compileFilter({ attributes: { region: ["eu", { prefix: "uk-" }] } });
 * filter?.test({ attributes: '{"region":"uk-north"}' }); // true
 */
export function compileFilter(pattern: FilterPattern | null | undefined): CompiledFilter | null {
  if (pattern === null || pattern === undefined) return null;
  const cached = compiled.get(pattern);
  if (cached) return cached;
  const parsed = parseFilter(pattern);
  const test = parsed.ok ? compilePattern(parsed.value) : () => false;
  const filter: CompiledFilter = {
    needsBody: parsed.ok && needsBody(parsed.value),
    test: (message) => test(view(message)),
  };
  compiled.set(pattern, filter);
  return filter;
}

/** Whether a message passes a filter (no filter passes everything). */
export function matches(pattern: FilterPattern | null | undefined, message: Filterable): boolean {
  return compileFilter(pattern)?.test(message) ?? true;
}

function view(message: Filterable): View {
  const attributes =
    typeof message.attributes === "string"
      ? (JSON.parse(message.attributes) as Record<string, string>)
      : (message.attributes ?? {});
  return {
    attributes,
    data: () => {
      let parsed = bodies.get(message);
      if (parsed === undefined) {
        parsed = { data: bodyData(message.content_type, message.body) };
        bodies.set(message, parsed);
      }
      return parsed.data;
    },
  };
}

/** The body as `data` shows it on the wire: parsed JSON, a `text/*` string, or nothing. */
function bodyData(contentType: string | undefined, body: ArrayBuffer | Uint8Array | undefined): unknown {
  if (contentType === undefined || body === undefined) return undefined;
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(body);
  try {
    const text = decoder.decode(bytes);
    if (isTextType(contentType)) return text;
    if (!isJsonType(contentType) || jsonDepth(text) > LIMITS.jsonDepth) return undefined;
    return JSON.parse(text);
  } catch {
    return undefined; // not UTF-8 or not JSON: the body has no fields to match
  }
}

function compilePattern(node: FilterNode): (view: View) => boolean {
  const attributes = node.attributes && compileObject(node.attributes);
  const data = node.data && compileValue(node.data);
  const ors = node.ors.map((group) => group.map(compilePattern));
  return (v) =>
    (attributes === null || attributes(v.attributes, true)) &&
    (data === null || data(v.data(), false)) &&
    ors.every((group) => group.some((alternative) => alternative(v)));
}

/**
 * An object pattern holds when one object at the value does (an array holds objects in its
 * elements): every field matches, and one alternative of each `$or`. Where there is no object,
 * the pattern is tried on an empty one, so `{"exists": false}` below a missing field holds.
 */
function compileObject(node: ObjectNode): ObjectTest {
  const fields = node.fields.map(({ name, value }) => ({ name, test: compileValue(value) }));
  const ors = node.ors.map((group) => group.map(compileObject));
  const one = (object: Record<string, unknown>, inAttributes: boolean) =>
    fields.every(({ name, test }) =>
      test(Object.hasOwn(object, name) ? object[name] : undefined, inAttributes),
    ) && ors.every((group) => group.some((alternative) => alternative(object, inAttributes)));
  return (value, inAttributes) => {
    const objects = flatten(value).filter(isObject);
    return objects.length === 0 ? one({}, inAttributes) : objects.some((o) => one(o, inAttributes));
  };
}

function compileValue(node: ValueNode): ObjectTest {
  if ("object" in node) return compileObject(node.object);
  const tests = node.matchers.map(compileMatcher);
  return (value, inAttributes) => {
    const values = flatten(value);
    return tests.some((test) => test(values, inAttributes));
  };
}

/** A matcher over the values at a field (an array's elements, none when it is missing). */
function compileMatcher(matcher: Matcher): (values: unknown[], inAttributes: boolean) => boolean {
  if (matcher.kind === "exists") {
    const wanted = matcher.value;
    return (values) => values.length > 0 === wanted;
  }
  const one = compileScalar(matcher);
  return (values, inAttributes) => values.some((value) => one(value, inAttributes));
}

function compileScalar(
  matcher: Exclude<Matcher, { kind: "exists" }>,
): (value: unknown, inAttributes: boolean) => boolean {
  switch (matcher.kind) {
    case "equals": {
      const wanted = matcher.value;
      return (value) => value === wanted;
    }
    case "prefix": {
      const prefix = matcher.value;
      return (value) => typeof value === "string" && value.startsWith(prefix);
    }
    case "suffix": {
      const suffix = matcher.value;
      return (value) => typeof value === "string" && value.endsWith(suffix);
    }
    case "anything-but": {
      const excluded = matcher.not.map((inner) =>
        compileScalar(inner as Exclude<Matcher, { kind: "exists" }>),
      );
      return (value, inAttributes) => !excluded.some((test) => test(value, inAttributes));
    }
    case "numeric": {
      const bounds = matcher.bounds;
      return (value, inAttributes) => {
        const n = numberOf(value, inAttributes);
        return n !== undefined && bounds.every(([op, bound]) => compare(n, op, bound));
      };
    }
  }
}

/** A JSON number; in attributes (all strings), a decimal number written as text. */
function numberOf(value: unknown, inAttributes: boolean): number | undefined {
  if (typeof value === "number") return value;
  if (inAttributes && typeof value === "string" && DECIMAL_RE.test(value)) return Number(value);
  return undefined;
}

const DECIMAL_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function compare(n: number, op: Comparison, bound: number): boolean {
  switch (op) {
    case "=":
      return n === bound;
    case "<":
      return n < bound;
    case "<=":
      return n <= bound;
    case ">":
      return n > bound;
    case ">=":
      return n >= bound;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The values at a field: none when missing, an array's elements (nested arrays flattened), or itself. */
function flatten(value: unknown): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [value];
  const out: unknown[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) for (let i = item.length - 1; i >= 0; i--) stack.push(item[i]);
    else out.push(item);
  }
  return out;
}
