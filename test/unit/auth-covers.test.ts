/**
 * `patternCovers` and `covers`, the subset checks behind minting: a minted token may grant only
 * what its minter holds. Checked both ways on random patterns and names: whatever a covered
 * pattern matches, the covering one matches too (sound), and when a pattern is not covered there
 * is a name that shows it (complete).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  can,
  covers,
  type Grant,
  isValidPattern,
  patternCovers,
  patternMatches,
  principalFromCap,
  type Right,
} from "../../src/auth/capabilities";
import { isValidName } from "../../src/protocol/names";

// A small alphabet, so random patterns often overlap, nest or coincide.
const FIRST = ["a", "b", "0"];
const REST = ["a", "b", ".", "-", "_"];
const name = fc
  .tuple(fc.constantFrom(...FIRST), fc.array(fc.constantFrom(...REST), { maxLength: 4 }))
  .map(([first, rest]) => first + rest.join(""));
const pattern = fc.oneof(
  name,
  name.map((n) => `${n}*`),
  fc.constant("*"),
);
const right = fc.constantFrom<Right>("publish", "subscribe", "admin");
const grant = fc.record({ pattern, rights: fc.uniqueArray(right, { minLength: 1, maxLength: 3 }) });

/** A name the pattern matches, built from it, so the premise of soundness is often true. */
const matchedBy = (p: string, tail: string): string => (p.endsWith("*") ? `${p.slice(0, -1)}${tail}` : p);

/**
 * A name `p` matches that no pattern drawn from the small alphabet matches unless it covers `p`:
 * the pattern itself for an exact name, its prefix and a character outside the alphabet otherwise.
 */
const witness = (p: string): string => (p.endsWith("*") ? `${p.slice(0, -1)}Z` : p);

describe("patternCovers", () => {
  it.each([
    ["*", "*", true],
    ["*", "orders.*", true],
    ["*", "orders", true],
    ["orders.*", "*", false],
    ["orders.*", "orders.eu.*", true],
    ["orders.*", "orders.*", true],
    ["orders.*", "orders.eu", true],
    ["orders.*", "orders", false],
    ["orders*", "orders", true],
    ["orders.eu.*", "orders.*", false],
    ["orders.eu", "orders.eu", true],
    ["orders.eu", "orders.eu*", false],
    ["orders.eu", "orders.*", false],
    ["orders_eu", "ordersXeu", false],
  ])("%s covers %s: %s", (q, p, expected) => {
    expect(patternCovers(q, p)).toBe(expected);
  });

  it("is sound: every name a covered pattern matches, the covering pattern matches", () => {
    fc.assert(
      fc.property(
        pattern,
        pattern,
        fc.oneof(name, fc.string({ maxLength: 4 })),
        name,
        (q, p, tail, other) => {
          if (!patternCovers(q, p)) return;
          for (const n of [matchedBy(p, tail), other]) {
            if (patternMatches(p, n)) expect(patternMatches(q, n), `${q} ⊇ ${p} at ${n}`).toBe(true);
          }
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it("is complete: a pattern it does not cover matches a name the other does not", () => {
    fc.assert(
      fc.property(pattern, pattern, (q, p) => {
        if (patternCovers(q, p)) return;
        const n = witness(p);
        expect(isValidName(n)).toBe(true);
        expect(patternMatches(p, n)).toBe(true);
        expect(patternMatches(q, n), `${q} ⊉ ${p}, shown by ${n}`).toBe(false);
      }),
      { numRuns: 5_000 },
    );
  });

  it("only ever sees valid patterns in these properties", () => {
    fc.assert(
      fc.property(pattern, (p) => {
        expect(isValidPattern(p), p).toBe(true);
      }),
    );
  });
});

describe("covers", () => {
  const principalOf = (grants: Grant[]) =>
    principalFromCap(Object.fromEntries(grants.map((g) => [g.pattern, g.rights])));

  it("holds a right through admin, and a pattern through a wider one", () => {
    const minter = principalFromCap({ "orders.*": ["admin"], "chat.room-1": ["subscribe"] });
    expect(covers(minter, { pattern: "orders.eu.*", rights: ["publish", "subscribe", "admin"] })).toBe(true);
    expect(covers(minter, { pattern: "chat.room-1", rights: ["subscribe"] })).toBe(true);
    expect(covers(minter, { pattern: "chat.room-1", rights: ["publish"] })).toBe(false);
    expect(covers(minter, { pattern: "chat.*", rights: ["subscribe"] })).toBe(false);
    expect(covers(minter, { pattern: "*", rights: ["subscribe"] })).toBe(false);
  });

  it("adds up rights held through different grants", () => {
    const minter = principalFromCap({ "orders.*": ["publish"], "orders.eu": ["subscribe"] });
    expect(covers(minter, { pattern: "orders.eu", rights: ["publish", "subscribe"] })).toBe(true);
    expect(covers(minter, { pattern: "orders.us", rights: ["publish", "subscribe"] })).toBe(false);
  });

  it("is sound: a covered grant gives no right on any name that the minter lacks there", () => {
    fc.assert(
      fc.property(
        fc.array(grant, { minLength: 1, maxLength: 6 }),
        grant,
        fc.string({ maxLength: 4 }),
        (held, asked, tail) => {
          const minter = principalOf(held);
          if (!covers(minter, asked)) return;
          const n = matchedBy(asked.pattern, tail);
          for (const r of asked.rights) expect(can(minter, r, n), `${r} on ${n}`).toBe(true);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it("is complete: a grant it refuses gives some right on some name that the minter lacks", () => {
    fc.assert(
      fc.property(fc.array(grant, { minLength: 1, maxLength: 6 }), grant, (held, asked) => {
        const minter = principalOf(held);
        if (covers(minter, asked)) return;
        const n = witness(asked.pattern);
        expect(asked.rights.some((r) => !can(minter, r, n))).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });
});
