import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ADMIN_PRINCIPAL,
  can,
  canEverywhere,
  isValidPattern,
  MAX_GRANTS,
  OPEN_PRINCIPAL,
  parseCap,
  patternMatches,
  principalFromCap,
  type Right,
} from "../../src/auth/capabilities";

const RIGHTS: Right[] = ["publish", "subscribe", "admin"];
const NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".split("");
const ALNUM = NAME_CHARS.slice(0, 62);

/** Valid topic names: an alphanumeric first character, then name characters, 1–128 in all. */
const topicName = fc
  .tuple(fc.constantFrom(...ALNUM), fc.array(fc.constantFrom(...NAME_CHARS), { maxLength: 40 }))
  .map(([first, rest]) => first + rest.join(""));
const right = fc.constantFrom(...RIGHTS);

describe("patterns", () => {
  it.each([
    ["orders.eu", "orders.eu", true],
    ["orders.eu", "orders.eu2", false],
    ["orders.eu", "orders", false],
    ["orders.*", "orders.eu", true],
    ["orders.*", "orders.", true],
    ["orders.*", "orders", false],
    ["orders.*", "ordersX", false],
    ["orders*", "orders", true],
    ["*", "anything", true],
  ])("%s matches %s: %s", (pattern, topic, expected) => {
    expect(patternMatches(pattern, topic)).toBe(expected);
  });

  it.each(["", "**", "a*b", "*a", "a**", ".x", "-x*", "a b", "a/b*", "x".repeat(129)])(
    "refuses the pattern %j",
    (pattern) => {
      expect(isValidPattern(pattern)).toBe(false);
    },
  );

  it("accepts every topic name as an exact pattern, and every name followed by * as a prefix", () => {
    fc.assert(
      fc.property(topicName, (name) => {
        expect(isValidPattern(name)).toBe(true);
        if (name.length <= 127) expect(isValidPattern(`${name}*`)).toBe(true);
      }),
    );
  });

  it("an exact pattern matches only its own topic", () => {
    fc.assert(
      fc.property(topicName, topicName, (pattern, topic) => {
        expect(patternMatches(pattern, topic)).toBe(pattern === topic);
      }),
    );
  });

  it("a prefix pattern matches exactly the topics that start with the prefix", () => {
    fc.assert(
      fc.property(topicName, fc.string({ maxLength: 20 }), topicName, (prefix, suffix, other) => {
        expect(patternMatches(`${prefix}*`, prefix + suffix)).toBe(true);
        expect(patternMatches(`${prefix}*`, other)).toBe(other.startsWith(prefix));
      }),
    );
  });

  it("`*` matches every topic name", () => {
    fc.assert(
      fc.property(topicName, (topic) => {
        expect(patternMatches("*", topic)).toBe(true);
      }),
    );
  });
});

describe("can", () => {
  it.each(
    RIGHTS.flatMap((granted) =>
      RIGHTS.flatMap((required) =>
        (["exact", "prefix", "other"] as const).map((scope) => ({ granted, required, scope })),
      ),
    ),
  )("a $granted grant ($scope) and a need for $required", ({ granted, required, scope }) => {
    const pattern = scope === "exact" ? "orders.eu" : scope === "prefix" ? "orders.*" : "billing.*";
    const principal = principalFromCap({ [pattern]: [granted] });
    const expected = scope !== "other" && (granted === required || granted === "admin");
    expect(can(principal, required, "orders.eu")).toBe(expected);
  });

  it("admin implies publish and subscribe on the topics it covers, and nothing elsewhere", () => {
    fc.assert(
      fc.property(topicName, topicName, right, (covered, other, r) => {
        fc.pre(!other.startsWith(covered));
        const principal = principalFromCap({ [`${covered}*`]: ["admin"] });
        expect(can(principal, r, covered)).toBe(true);
        expect(can(principal, r, other)).toBe(false);
      }),
    );
  });

  it("adding a grant never takes a right away", () => {
    const cap = fc.dictionary(
      topicName.map((n) => (n.length % 2 ? n : `${n.slice(0, 127)}*`)),
      fc.uniqueArray(right, { minLength: 1 }),
      { maxKeys: 5 },
    );
    fc.assert(
      fc.property(cap, cap, topicName, right, (a, b, topic, r) => {
        const before = can(principalFromCap(a), r, topic);
        const after = can(principalFromCap({ ...b, ...a }), r, topic);
        expect(!before || after).toBe(true);
      }),
    );
  });

  it("gives nothing without a grant", () => {
    fc.assert(
      fc.property(topicName, right, (topic, r) => {
        expect(can(principalFromCap({}), r, topic)).toBe(false);
      }),
    );
  });

  it("canEverywhere needs a `*` grant: a broad prefix is not enough", () => {
    expect(canEverywhere(principalFromCap({ "*": ["publish"] }), "publish")).toBe(true);
    expect(canEverywhere(principalFromCap({ "*": ["publish"] }), "admin")).toBe(false);
    expect(canEverywhere(principalFromCap({ "a*": ["admin"] }), "admin")).toBe(false);
    expect(canEverywhere(ADMIN_PRINCIPAL, "admin")).toBe(true);
    expect(canEverywhere(OPEN_PRINCIPAL, "subscribe")).toBe(true);
  });
});

describe("parseCap", () => {
  it("turns a cap claim into grants, dropping duplicate rights", () => {
    expect(parseCap({ "orders.*": ["publish", "publish"], "chat.room-1": ["subscribe", "publish"] })).toEqual(
      {
        ok: true,
        grants: [
          { pattern: "orders.*", rights: ["publish"] },
          { pattern: "chat.room-1", rights: ["subscribe", "publish"] },
        ],
      },
    );
  });

  it.each([
    ["a list", ["publish"], "cap"],
    ["a string", "admin", "cap"],
    ["null", null, "cap"],
    ["a bad pattern", { "a*b": ["publish"] }, 'cap["a*b"] must be a topic name or a prefix ending in `*`'],
    ["an unknown right", { a: ["delete"] }, 'cap["a"]'],
    ["rights that are not a list", { a: "publish" }, 'cap["a"]'],
    ["an empty rights list", { a: [] }, 'cap["a"] must list at least one right'],
    ["a __proto__ key", JSON.parse('{"__proto__":["admin"]}'), 'cap["__proto__"]'],
    ["a constructor key", JSON.parse('{"constructor":["admin"]}'), null],
  ])("refuses %s with a detail naming the problem", (_, input, detail) => {
    const parsed = parseCap(input);
    if (detail === null) {
      // "constructor" is a valid topic name: accepted as an ordinary grant, nothing more.
      expect(parsed).toEqual({ ok: true, grants: [{ pattern: "constructor", rights: ["admin"] }] });
      return;
    }
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.detail).toContain(detail);
  });

  it(`refuses more than ${MAX_GRANTS} patterns`, () => {
    const cap = Object.fromEntries(Array.from({ length: MAX_GRANTS + 1 }, (_, i) => [`t${i}`, ["publish"]]));
    const parsed = parseCap(cap);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.detail).toContain(`at most ${MAX_GRANTS}`);
  });

  it("accepts exactly the patterns isValidPattern accepts", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (pattern) => {
        expect(parseCap({ [pattern]: ["publish"] }).ok).toBe(
          pattern !== "__proto__" && isValidPattern(pattern),
        );
      }),
    );
  });
});
