import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FILTER_LIMITS, parseFilter } from "../../src/protocol/filter-pattern";
import { compileFilter } from "../../src/topic/filter";
import { referenceMatches } from "./filter-reference";

const utf8 = new TextEncoder();

/** A message as the topic stores it: attributes as JSON text, the body as bytes of a content type. */
function stored(
  attributes: Record<string, string>,
  body: { json: unknown } | { text: string } | { bytes: Uint8Array },
) {
  const attrs = Object.keys(attributes).length ? JSON.stringify(attributes) : null;
  if ("json" in body)
    return {
      attributes: attrs,
      content_type: "application/json",
      body: utf8.encode(JSON.stringify(body.json)),
    };
  if ("text" in body) return { attributes: attrs, content_type: "text/plain", body: utf8.encode(body.text) };
  return { attributes: attrs, content_type: "application/octet-stream", body: body.bytes };
}

const test = (pattern: Record<string, unknown>, attributes: Record<string, string>, data: unknown) => {
  const filter = compileFilter(pattern as never);
  if (!filter) throw new Error("no filter");
  return filter.test(stored(attributes, { json: data }));
};

describe("the filter language, operator by operator", () => {
  it("keeps today's exact attribute filters working", () => {
    const pattern = { attributes: { region: "eu" } };
    expect(test(pattern, { region: "eu" }, {})).toBe(true);
    expect(test(pattern, { region: "us" }, {})).toBe(false);
    expect(test(pattern, {}, {})).toBe(false);
  });

  it("matches the README example: a list is OR, numeric ranges on the body", () => {
    const pattern = {
      attributes: { region: ["eu", { prefix: "uk-" }] },
      data: { total: [{ numeric: [">", 100] }] },
    };
    expect(test(pattern, { region: "uk-north" }, { total: 150 })).toBe(true);
    expect(test(pattern, { region: "eu" }, { total: 101 })).toBe(true);
    expect(test(pattern, { region: "eu" }, { total: 100 })).toBe(false);
    expect(test(pattern, { region: "us" }, { total: 500 })).toBe(false);
    expect(test(pattern, { region: "eu" }, { total: "500" })).toBe(false); // a string is not a number
  });

  it("prefix, suffix and exact values compare strings only, by type", () => {
    expect(test({ data: { sku: [{ prefix: "BK-" }] } }, {}, { sku: "BK-7" })).toBe(true);
    expect(test({ data: { sku: [{ suffix: "-7" }] } }, {}, { sku: "BK-7" })).toBe(true);
    expect(test({ data: { sku: [{ suffix: "-7" }] } }, {}, { sku: 7 })).toBe(false);
    expect(test({ data: { n: 5 } }, {}, { n: 5 })).toBe(true);
    expect(test({ data: { n: 5 } }, {}, { n: "5" })).toBe(false);
    expect(test({ data: { ok: [true] } }, {}, { ok: true })).toBe(true);
    expect(test({ data: { gone: [null] } }, {}, { gone: null })).toBe(true);
    expect(test({ data: { gone: [null] } }, {}, {})).toBe(false);
  });

  it("anything-but excludes values, lists and prefixes, and needs the field", () => {
    const but = (x: unknown) => ({ data: { state: [{ "anything-but": x }] } });
    expect(test(but("cancelled"), {}, { state: "paid" })).toBe(true);
    expect(test(but("cancelled"), {}, { state: "cancelled" })).toBe(false);
    expect(test(but(["a", "b"]), {}, { state: "b" })).toBe(false);
    expect(test(but({ prefix: "test-" }), {}, { state: "test-1" })).toBe(false);
    expect(test(but({ prefix: "test-" }), {}, { state: "live-1" })).toBe(true);
    expect(test(but("cancelled"), {}, {})).toBe(false);
  });

  it("numeric ranges take two bounds; attribute values count when they are decimal text", () => {
    const range = { data: { n: [{ numeric: [">=", 10, "<", 20] }] } };
    expect([9, 10, 19.5, 20].map((n) => test(range, {}, { n }))).toEqual([false, true, true, false]);
    const attr = { attributes: { priority: [{ numeric: [">", 5] }] } };
    expect(test(attr, { priority: "7" }, {})).toBe(true);
    expect(test(attr, { priority: "5" }, {})).toBe(false);
    expect(test(attr, { priority: "high" }, {})).toBe(false);
  });

  it("exists tells a present field (null included) from a missing one", () => {
    expect(test({ data: { coupon: [{ exists: true }] } }, {}, { coupon: null })).toBe(true);
    expect(test({ data: { coupon: [{ exists: true }] } }, {}, {})).toBe(false);
    expect(test({ data: { coupon: [{ exists: false }] } }, {}, {})).toBe(true);
    expect(test({ data: { a: { b: [{ exists: false }] } } }, {}, {})).toBe(true); // below a missing parent
    expect(test({ attributes: { trace: [{ exists: true }] } }, { trace: "x" }, {})).toBe(true);
  });

  it("follows nested paths, and arrays hold when one element does", () => {
    const pattern = { data: { customer: { address: { country: ["FR", "DE"] } } } };
    expect(test(pattern, {}, { customer: { address: { country: "DE" } } })).toBe(true);
    expect(test(pattern, {}, { customer: { address: "DE" } })).toBe(false);
    const items = { data: { items: { sku: ["b"], qty: [{ numeric: [">", 1] }] } } };
    expect(
      test(
        items,
        {},
        {
          items: [
            { sku: "a", qty: 5 },
            { sku: "b", qty: 2 },
          ],
        },
      ),
    ).toBe(true);
    // One element must match the whole nested pattern, not each field a different element.
    expect(
      test(
        items,
        {},
        {
          items: [
            { sku: "b", qty: 1 },
            { sku: "a", qty: 5 },
          ],
        },
      ),
    ).toBe(false);
    expect(test({ data: { tags: ["vip"] } }, {}, { tags: ["new", ["vip"]] })).toBe(true);
  });

  it("$or needs one alternative, at the top or inside a field pattern", () => {
    const top = { $or: [{ attributes: { region: "eu" } }, { data: { total: [{ numeric: [">", 1000] }] } }] };
    expect(test(top, { region: "eu" }, { total: 1 })).toBe(true);
    expect(test(top, { region: "us" }, { total: 5000 })).toBe(true);
    expect(test(top, { region: "us" }, { total: 1 })).toBe(false);
    const inner = { data: { $or: [{ kind: ["a"] }, { priority: [{ numeric: [">", 3] }] }] } };
    expect(test(inner, {}, { kind: "b", priority: 4 })).toBe(true);
    expect(test(inner, {}, { kind: "b", priority: 1 })).toBe(false);
  });

  it("sees text bodies as strings and binary bodies as nothing", () => {
    const filter = compileFilter({ data: [{ prefix: "ERROR" }] });
    expect(filter?.test(stored({}, { text: "ERROR disk full" }))).toBe(true);
    expect(filter?.test(stored({}, { bytes: utf8.encode("ERROR") }))).toBe(false);
    expect(compileFilter({ data: [{ exists: false }] })?.test(stored({}, { bytes: new Uint8Array(2) }))).toBe(
      true,
    );
  });

  it("is compiled once per config object, and knows when it needs the body", () => {
    const pattern = { attributes: { region: "eu" } };
    expect(compileFilter(pattern)).toBe(compileFilter(pattern));
    expect(compileFilter(pattern)?.needsBody).toBe(false);
    expect(compileFilter({ $or: [{ attributes: { a: "1" } }, { data: { b: 1 } }] })?.needsBody).toBe(true);
  });
});

describe("hostile and malformed patterns are refused, naming the bad part", () => {
  const refused = (pattern: unknown) => {
    const parsed = parseFilter(pattern);
    if (parsed.ok) throw new Error(`accepted ${JSON.stringify(pattern).slice(0, 80)}`);
    return parsed.error;
  };

  it("points at the matcher that is wrong", () => {
    expect(refused({ data: { total: [{ numerc: [">", 1] }] } })).toMatchObject({
      path: ["data", "total", 0],
    });
    expect(refused({ data: { total: [{ numeric: [">", "1"] }] } })).toMatchObject({
      path: ["data", "total", 0, "numeric", 1],
      message: "must be a finite number",
    });
    expect(refused({ data: { total: [{ numeric: ["≥", 1] }] } }).path).toEqual([
      "data",
      "total",
      0,
      "numeric",
      0,
    ]);
    expect(refused({ attributes: { region: { prefix: "eu" } } }).path).toEqual(["attributes", "region"]);
    expect(refused({ attributes: { region: 5 } }).message).toBe("must be a string");
    expect(refused({ data: { a: [] } }).message).toMatch(/empty list/);
    expect(refused({ data: { a: [{ prefix: "x", suffix: "y" }] } }).path).toEqual(["data", "a", 0]);
    expect(refused({ data: { a: [{ "anything-but": [] }] } }).path).toEqual(["data", "a", 0, "anything-but"]);
    expect(refused({ $or: [{ data: { a: 1 } }] }).path).toEqual(["$or"]);
    expect(refused({ region: "eu" }).message).toBe('has an unknown field "region"');
    expect(refused([1]).message).toMatch(/must be an object/);
    expect(refused({ data: { ["__proto__"]: 1 } }).message).toMatch(/__proto__/);
  });

  it("refuses patterns too deep, too large or with too many matchers", () => {
    let deep: Record<string, unknown> = { leaf: ["x"] };
    for (let i = 0; i < FILTER_LIMITS.depth + 1; i++) deep = { nested: deep };
    expect(refused({ data: deep }).message).toMatch(/deeper than/);
    expect(refused({ data: { a: ["x".repeat(FILTER_LIMITS.characters)] } }).message).toMatch(
      /characters of JSON/,
    );
    const many = Array.from({ length: FILTER_LIMITS.matchers + 1 }, (_, i) => i);
    expect(refused({ data: { a: many } }).message).toMatch(/matchers in all/);
    const wide = { $or: Array.from({ length: FILTER_LIMITS.alternatives + 1 }, () => ({ data: { a: 1 } })) };
    expect(refused(wide).path).toEqual(["$or"]);
    expect(refused({ data: { a: [Number.POSITIVE_INFINITY] } }).message).toBe("must be a finite number");
  });
});

// ---- property tests against the reference evaluator ------------------------------------------

const NAMES = ["a", "b", "x.y"] as const;
const STRINGS = ["", "eu", "uk-north", "uk-", "us", "5", "10.5", "-3", "1e2", "vip"];
const name = fc.constantFrom(...NAMES);
const str = fc.constantFrom(...STRINGS);
const num = fc.constantFrom(-3, 0, 5, 10.5, 100);
const scalar = fc.oneof(str, num, fc.boolean(), fc.constant(null));
const op = fc.constantFrom("=", "<", "<=", ">", ">=");

const matcher = fc.oneof(
  scalar,
  fc.record({ prefix: str }),
  fc.record({ suffix: str }),
  fc.record({
    "anything-but": fc.oneof(
      scalar,
      fc.array(scalar, { minLength: 1, maxLength: 3 }),
      fc.record({ prefix: str }),
    ),
  }),
  fc.record({ numeric: fc.oneof(fc.tuple(op, num), fc.tuple(op, num, op, num)) }),
  fc.record({ exists: fc.boolean() }),
);
const matchers = fc.array(matcher, { minLength: 1, maxLength: 3 });

/** A value pattern over the body: a scalar, a list of matchers, or a nested pattern (with `$or`). */
const { valuePattern } = fc.letrec<{ valuePattern: unknown; objectPattern: Record<string, unknown> }>(
  (tie) => ({
    valuePattern: fc.oneof(
      { maxDepth: 3, depthIdentifier: "pattern", withCrossShrink: true },
      { arbitrary: scalar, weight: 1 },
      { arbitrary: matchers, weight: 3 },
      { arbitrary: tie("objectPattern"), weight: 2 },
    ),
    objectPattern: fc
      .tuple(
        fc.dictionary(name, tie("valuePattern"), { maxKeys: 2 }),
        fc.option(
          fc.array(fc.dictionary(name, tie("valuePattern"), { minKeys: 1, maxKeys: 2 }), {
            minLength: 2,
            maxLength: 3,
          }),
          { nil: undefined },
        ),
      )
      .map(([fields, or]) => (or === undefined ? fields : { ...fields, $or: or })),
  }),
);

const attributePattern = fc
  .tuple(
    fc.dictionary(name, fc.oneof(str, matchers), { maxKeys: 3 }),
    fc.option(
      fc.array(fc.dictionary(name, fc.oneof(str, matchers), { minKeys: 1, maxKeys: 2 }), {
        minLength: 2,
        maxLength: 2,
      }),
      { nil: undefined },
    ),
  )
  .map(([fields, or]) => (or === undefined ? fields : { ...fields, $or: or }));

const simplePattern = fc.record(
  { attributes: attributePattern, data: valuePattern },
  { requiredKeys: [] },
) as fc.Arbitrary<Record<string, unknown>>;
const pattern = fc
  .tuple(
    simplePattern,
    fc.option(fc.array(simplePattern, { minLength: 2, maxLength: 3 }), { nil: undefined }),
  )
  .map(([p, or]) => (or === undefined ? p : { ...p, $or: or }));

/** A body: scalars, arrays (nested too) and objects over the same few names. */
const { body } = fc.letrec<{ body: unknown }>((tie) => ({
  body: fc.oneof(
    { maxDepth: 4, withCrossShrink: true },
    { arbitrary: scalar, weight: 2 },
    { arbitrary: fc.array(tie("body"), { maxLength: 3 }), weight: 1 },
    { arbitrary: fc.dictionary(name, tie("body"), { minKeys: 1, maxKeys: 4 }), weight: 3 },
  ),
}));
const attributes = fc.dictionary(name, fc.oneof(str, num.map(String)), { maxKeys: 4 });

describe("compiled filters agree with the reference evaluator", () => {
  it("on every generated pattern and JSON message", () => {
    fc.assert(
      fc.property(pattern, attributes, body, (p, attrs, data) => {
        const parsed = parseFilter(p);
        expect(parsed.ok).toBe(true);
        const filter = compileFilter(p as never);
        expect(filter?.test(stored(attrs, { json: data }))).toBe(referenceMatches(p, attrs, data));
      }),
      { numRuns: 3_000 },
    );
  });

  it("on text bodies (data is the string) and binary bodies (no data)", () => {
    fc.assert(
      fc.property(pattern, attributes, str, (p, attrs, text) => {
        const filter = compileFilter(p as never);
        expect(filter?.test(stored(attrs, { text }))).toBe(referenceMatches(p, attrs, text));
        expect(filter?.test(stored(attrs, { bytes: utf8.encode(text) }))).toBe(
          referenceMatches(p, attrs, undefined),
        );
      }),
      { numRuns: 1_000 },
    );
  });
});
