/**
 * A slow reference evaluator of the filter language, written straight from the rules in DESIGN.md
 * ("Filters") and interpreting the pattern as written, with none of the compiler's code: the
 * property tests hold the compiled filters to it.
 */
type Json = unknown;

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** The values at a field: nothing when missing, every element of an array (flattened), or the value. */
const valuesAt = (x: unknown): unknown[] =>
  x === undefined ? [] : Array.isArray(x) ? x.flat(Infinity) : [x];

const NUMBER_TEXT = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function asNumber(x: unknown, inAttributes: boolean): number | null {
  if (typeof x === "number") return x;
  if (inAttributes && typeof x === "string" && NUMBER_TEXT.test(x)) return Number(x);
  return null;
}

function holds(matcher: Json, x: unknown, inAttributes: boolean): boolean {
  if (!isObject(matcher)) return x === matcher;
  if ("prefix" in matcher) {
    const p = matcher.prefix as string;
    return typeof x === "string" && x.slice(0, p.length) === p;
  }
  if ("suffix" in matcher) {
    const s = matcher.suffix as string;
    return typeof x === "string" && x.length >= s.length && x.slice(x.length - s.length) === s;
  }
  if ("anything-but" in matcher) {
    const but = matcher["anything-but"];
    if (isObject(but)) return !holds(but, x, inAttributes);
    const list = Array.isArray(but) ? but : [but];
    return list.every((item) => item !== x);
  }
  if ("numeric" in matcher) {
    const n = asNumber(x, inAttributes);
    if (n === null) return false;
    const spec = matcher.numeric as (string | number)[];
    for (let i = 0; i < spec.length; i += 2) {
      const bound = spec[i + 1] as number;
      const ok = {
        "=": n === bound,
        "<": n < bound,
        "<=": n <= bound,
        ">": n > bound,
        ">=": n >= bound,
      }[spec[i] as string];
      if (!ok) return false;
    }
    return true;
  }
  throw new Error(`not a matcher: ${JSON.stringify(matcher)}`);
}

function valueMatches(pattern: Json, x: unknown, inAttributes: boolean): boolean {
  if (isObject(pattern)) return objectMatches(pattern, x, inAttributes);
  const list = Array.isArray(pattern) ? pattern : [pattern];
  const values = valuesAt(x);
  for (const matcher of list) {
    if (isObject(matcher) && "exists" in matcher) {
      if (values.length > 0 === matcher.exists) return true;
    } else if (values.some((v) => holds(matcher, v, inAttributes))) return true;
  }
  return false;
}

function objectMatches(pattern: Record<string, unknown>, x: unknown, inAttributes: boolean): boolean {
  const objects = valuesAt(x).filter(isObject);
  const candidates = objects.length > 0 ? objects : [{}];
  return candidates.some((o) =>
    Object.entries(pattern).every(([key, inner]) =>
      key === "$or"
        ? (inner as Json[]).some((alternative) =>
            objectMatches(alternative as Record<string, unknown>, o, inAttributes),
          )
        : valueMatches(inner, Object.hasOwn(o, key) ? o[key] : undefined, inAttributes),
    ),
  );
}

/** Whether a message with these attributes and this body (`data` as the wire shows it) passes. */
export function referenceMatches(
  pattern: Record<string, unknown>,
  attributes: Record<string, string>,
  data: unknown,
): boolean {
  return Object.entries(pattern).every(([key, inner]) => {
    if (key === "attributes") return objectMatches(inner as Record<string, unknown>, attributes, true);
    if (key === "data") return valueMatches(inner, data, false);
    if (key === "$or")
      return (inner as Record<string, unknown>[]).some((alt) => referenceMatches(alt, attributes, data));
    throw new Error(`unknown key ${key}`);
  });
}
