/**
 * The filter language of subscriptions and routes (DESIGN.md §3, "Filters"): EventBridge-style
 * patterns over a message's attributes and its JSON body, parsed once into a tree that
 * `src/topic/filter.ts` compiles. This file has no runtime dependency, so the SDK can take its
 * types and the worker its parser.
 *
 * (Just over 300 lines: the whole language, operator by operator, with the errors that name the
 * bad part of a pattern, reads best in one place.)
 *
 * @example
 * parseFilter({ attributes: { region: ["eu", { prefix: "uk-" }] }, data: { total: [{ numeric: [">", 100] }] } });
 */

/**
 * A filter as written: `{attributes?, data?, $or?}` (see the README's "Filters"). Its values are
 * left as plain JSON (`object` below the top): a recursive JSON type is more than the runtime's
 * RPC types can map.
 */
export type FilterPattern = { [key: string]: string | number | boolean | null | object };

/** A JSON scalar: what an exact match compares with (by type and value). */
export type Scalar = string | number | boolean | null;

export type Comparison = "=" | "<" | "<=" | ">" | ">=";

/** One test of a value. A list of them matches when one does. */
export type Matcher =
  | { kind: "equals"; value: Scalar }
  | { kind: "prefix"; value: string }
  | { kind: "suffix"; value: string }
  | { kind: "anything-but"; not: Matcher[] }
  | { kind: "numeric"; bounds: [Comparison, number][] }
  | { kind: "exists"; value: boolean };

/** What a field must hold: one of a list of matchers, or an object matching a nested pattern. */
export type ValueNode = { matchers: Matcher[] } | { object: ObjectNode };

/** Fields that must all match, and groups of alternatives (`$or`) of which one must. */
export interface ObjectNode {
  fields: { name: string; value: ValueNode }[];
  ors: ObjectNode[][];
}

/** A parsed filter: every part present must match. */
export interface FilterNode {
  attributes: ObjectNode | null;
  data: ValueNode | null;
  ors: FilterNode[][];
}

/** Where in the pattern a problem is (keys and indexes), and what it is. */
export interface FilterError {
  path: (string | number)[];
  message: string;
}

/** Bounds on a pattern, so that a hostile one is refused before it costs anything. */
export const FILTER_LIMITS = {
  /** Most characters of the pattern as JSON. */
  characters: 16 * 1024,
  /** Deepest nesting of objects (field patterns and `$or` alternatives). */
  depth: 10,
  /** Most matchers in the whole pattern. */
  matchers: 256,
  /** Most alternatives in one `$or`. */
  alternatives: 32,
  /** Longest string in a matcher, and longest field name. */
  stringLength: 1024,
} as const;

const OPERATORS = ["prefix", "suffix", "anything-but", "numeric", "exists"] as const;
const COMPARISONS = new Set<string>(["=", "<", "<=", ">", ">="]);

class Refusal extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isScalar = (value: unknown): value is Scalar =>
  value === null || ["string", "number", "boolean"].includes(typeof value);

/** Parses one pattern; the budget is shared across the whole pattern. */
class Parser {
  #matchers = 0;

  pattern(value: unknown, path: (string | number)[], depth: number): FilterNode {
    if (!isPlainObject(value)) throw new Refusal(path, 'must be an object: {"attributes": …, "data": …}');
    const node: FilterNode = { attributes: null, data: null, ors: [] };
    for (const [key, inner] of Object.entries(value)) {
      const at = [...path, key];
      if (key === "attributes") node.attributes = this.#attributes(inner, at, depth + 1);
      else if (key === "data") node.data = this.#value(inner, at, depth + 1);
      else if (key === "$or")
        node.ors.push(this.#alternatives(inner, at, (v, p) => this.pattern(v, p, depth + 1)));
      else throw new Refusal(path, `has an unknown field "${key.slice(0, 64)}"`);
    }
    return node;
  }

  #attributes(value: unknown, path: (string | number)[], depth: number): ObjectNode {
    this.#depth(path, depth);
    if (!isPlainObject(value))
      throw new Refusal(path, 'must be an object of attribute names: {"region": "eu"}');
    const node: ObjectNode = { fields: [], ors: [] };
    for (const [name, inner] of Object.entries(value)) {
      const at = [...path, name];
      if (name === "$or") {
        node.ors.push(this.#alternatives(inner, at, (v, p) => this.#attributes(v, p, depth + 1)));
        continue;
      }
      this.#fieldName(name, path);
      if (isPlainObject(inner)) {
        throw new Refusal(
          at,
          'must be a string or a list of matchers: attributes are flat, e.g. ["eu", {"prefix": "uk-"}]',
        );
      }
      if (isScalar(inner) && typeof inner !== "string") {
        throw new Refusal(at, "must be a string");
      }
      node.fields.push({ name, value: this.#value(inner, at, depth + 1) });
    }
    return node;
  }

  #value(value: unknown, path: (string | number)[], depth: number): ValueNode {
    if (isScalar(value)) return { matchers: [this.#equals(value, path)] };
    if (Array.isArray(value)) {
      if (value.length === 0) throw new Refusal(path, "must not be an empty list: it would match nothing");
      return { matchers: value.map((item, i) => this.#matcher(item, [...path, i])) };
    }
    if (!isPlainObject(value))
      throw new Refusal(path, "must be a JSON value, a list of matchers or an object");
    return { object: this.#object(value, path, depth) };
  }

  #object(value: Record<string, unknown>, path: (string | number)[], depth: number): ObjectNode {
    this.#depth(path, depth);
    const node: ObjectNode = { fields: [], ors: [] };
    for (const [name, inner] of Object.entries(value)) {
      const at = [...path, name];
      if (name === "$or") {
        node.ors.push(
          this.#alternatives(inner, at, (v, p) => {
            if (!isPlainObject(v)) throw new Refusal(p, "must be an object of fields");
            return this.#object(v, p, depth + 1);
          }),
        );
        continue;
      }
      this.#fieldName(name, path);
      node.fields.push({ name, value: this.#value(inner, at, depth + 1) });
    }
    return node;
  }

  #alternatives<T>(
    value: unknown,
    path: (string | number)[],
    parse: (v: unknown, p: (string | number)[]) => T,
  ): T[] {
    const max = FILTER_LIMITS.alternatives;
    if (!Array.isArray(value) || value.length < 2 || value.length > max) {
      throw new Refusal(path, `must be a list of 2 to ${max} alternative patterns`);
    }
    return value.map((item, i) => parse(item, [...path, i]));
  }

  #matcher(value: unknown, path: (string | number)[]): Matcher {
    if (isScalar(value)) return this.#equals(value, path);
    const operators = OPERATORS.map((op) => `"${op}"`).join(", ");
    if (!isPlainObject(value)) {
      throw new Refusal(path, `must be a value or an operator object ({${operators}}), not a list`);
    }
    const keys = Object.keys(value);
    const op = keys[0];
    if (keys.length !== 1 || op === undefined || !(OPERATORS as readonly string[]).includes(op)) {
      throw new Refusal(path, `must be a value or an object with one operator: ${operators}`);
    }
    const operand = value[op];
    const at = [...path, op];
    this.#count(path);
    switch (op as (typeof OPERATORS)[number]) {
      case "prefix":
      case "suffix":
        return { kind: op as "prefix" | "suffix", value: this.#string(operand, at) };
      case "exists":
        if (typeof operand !== "boolean") throw new Refusal(at, "must be true or false");
        return { kind: "exists", value: operand };
      case "numeric":
        return { kind: "numeric", bounds: this.#bounds(operand, at) };
      case "anything-but":
        return { kind: "anything-but", not: this.#anythingBut(operand, at) };
    }
  }

  #anythingBut(value: unknown, path: (string | number)[]): Matcher[] {
    if (isScalar(value)) return [this.#equals(value, path, false)];
    if (Array.isArray(value) && value.length > 0 && value.every(isScalar)) {
      return value.map((item, i) => this.#equals(item, [...path, i], false));
    }
    if (isPlainObject(value)) {
      const [key, ...rest] = Object.keys(value);
      if (rest.length === 0 && (key === "prefix" || key === "suffix")) {
        return [{ kind: key, value: this.#string(value[key], [...path, key]) }];
      }
    }
    throw new Refusal(path, 'must be a value, a non-empty list of values, {"prefix": …} or {"suffix": …}');
  }

  #bounds(value: unknown, path: (string | number)[]): [Comparison, number][] {
    const shape = 'must be [op, number] or [op, number, op, number] with op one of "=", "<", "<=", ">", ">="';
    if (!Array.isArray(value) || (value.length !== 2 && value.length !== 4)) throw new Refusal(path, shape);
    const bounds: [Comparison, number][] = [];
    for (let i = 0; i < value.length; i += 2) {
      const [op, n] = [value[i], value[i + 1]];
      if (typeof op !== "string" || !COMPARISONS.has(op)) throw new Refusal([...path, i], shape);
      if (typeof n !== "number" || !Number.isFinite(n))
        throw new Refusal([...path, i + 1], "must be a finite number");
      bounds.push([op as Comparison, n]);
    }
    return bounds;
  }

  #equals(value: Scalar, path: (string | number)[], count = true): Matcher {
    if (count) this.#count(path);
    if (typeof value === "string") this.#string(value, path);
    if (typeof value === "number" && !Number.isFinite(value))
      throw new Refusal(path, "must be a finite number");
    return { kind: "equals", value };
  }

  #string(value: unknown, path: (string | number)[]): string {
    const max = FILTER_LIMITS.stringLength;
    if (typeof value !== "string" || value.length > max) {
      throw new Refusal(path, `must be a string of at most ${max} characters`);
    }
    return value;
  }

  #fieldName(name: string, path: (string | number)[]): void {
    const max = FILTER_LIMITS.stringLength;
    if (name.length === 0 || name.length > max) {
      throw new Refusal(path, `must not have a field name that is empty or longer than ${max} characters`);
    }
    // Copied into a plain object, "__proto__" would set its prototype instead of a field.
    if (name === "__proto__") throw new Refusal(path, 'must not have a field named "__proto__"');
  }

  #depth(path: (string | number)[], depth: number): void {
    if (depth > FILTER_LIMITS.depth) {
      throw new Refusal(path, `must not nest deeper than ${FILTER_LIMITS.depth} levels`);
    }
  }

  #count(path: (string | number)[]): void {
    if (++this.#matchers > FILTER_LIMITS.matchers) {
      throw new Refusal(path, `must not have more than ${FILTER_LIMITS.matchers} matchers in all`);
    }
  }
}

/**
 * Parses a filter as written into the tree the topic compiles, or says where it is wrong (a path
 * of keys and indexes below the filter, and a predicate: "must be …").
 *
 * @example
 * parseFilter({ data: { total: [{ numeric: [">", 100] }] } }); // { ok: true, value: { … } }
 * parseFilter({ data: { total: [{ numerc: 1 }] } });
 * // { ok: false, error: { path: ["data", "total", 0], message: 'must be a value or an object with one operator: …' } }
 */
export function parseFilter(
  value: unknown,
): { ok: true; value: FilterNode } | { ok: false; error: FilterError } {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) return { ok: false, error: { path: [], message: "must be a JSON object" } };
  if (text.length > FILTER_LIMITS.characters) {
    const message = `must be at most ${FILTER_LIMITS.characters} characters of JSON`;
    return { ok: false, error: { path: [], message } };
  }
  try {
    return { ok: true, value: new Parser().pattern(value, [], 0) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, error: { path: error.path, message: error.message } };
    throw error;
  }
}

/** Whether a parsed filter looks at the body (its `data`, anywhere), which must then be loaded. */
export function needsBody(node: FilterNode): boolean {
  return node.data !== null || node.ors.some((group) => group.some(needsBody));
}
