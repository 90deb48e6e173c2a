/**
 * Hostile topic listings: a scoped token pages through `GET /v1/topics` with every limit and
 * prefix, and learns the names it holds a right on, all of them and nothing else — not in a
 * page, not in a cursor. Names are seeded straight into the catalogue (the Registry), which is
 * what a listing reads; `_`, `.` and `-` in names and patterns catch a filter that treats them as
 * wildcards.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { patternMatches } from "../../src/auth/capabilities";
import { app } from "../../src/http/app";
import { REGISTRY_NAME } from "../../src/protocol/registry";
import { ADMIN_KEY, hs256, nowS, SECRET } from "./auth-fixtures";

const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;

type Page = { topics: { name: string; createdAt: number }[]; cursor: string | null };

async function list(token: string, query: Record<string, string>): Promise<Page> {
  const res = await app.fetch(
    new Request(`http://broker/v1/topics?${new URLSearchParams(query)}`, {
      headers: { Authorization: `Bearer ${token}` },
    }),
    secured,
    createExecutionContext(),
  );
  const text = await res.text();
  expect({ status: res.status, body: text }).toMatchObject({ status: 200 });
  return JSON.parse(text) as Page;
}

/** Every page of a listing, following cursors; each page is checked as it comes. */
async function listAll(
  token: string,
  prefix: string,
  limit: number,
  visible: (name: string) => boolean,
): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1_000; pages++) {
    const page: Page = await list(token, {
      prefix,
      limit: String(limit),
      ...(cursor !== null && { cursor }),
    });
    const names = page.topics.map((t) => t.name);
    for (const name of names) expect(visible(name), `listed ${name}`).toBe(true);
    // The cursor is the last name of the page, or null at the end: it never names anything else.
    if (page.cursor !== null) {
      expect(names).toHaveLength(limit);
      expect(page.cursor).toBe(names.at(-1));
    }
    seen.push(...names);
    if (page.cursor === null) return seen;
    cursor = page.cursor;
  }
  throw new Error("the listing did not end within 1,000 pages");
}

const registry = () => env.REGISTRY.getByName(REGISTRY_NAME);

/** A fresh namespace of names, so runs never see each other's topics. */
const freshPrefix = () => `L${crypto.randomUUID().slice(0, 8)}-`;

// Short tails over a small alphabet with the characters a LIKE pattern would misread.
const tail = fc.string({ unit: fc.constantFrom("a", "b", "_", ".", "-", "0"), minLength: 1, maxLength: 4 });

describe("the topic listing of a scoped token", () => {
  it("never names a topic the token has no right on, in a page or in a cursor", async () => {
    const prefix = freshPrefix();
    const mine = `${prefix}mine`;
    for (const name of [`${prefix}a-payroll`, `${prefix}b-salaries`, mine, `${prefix}z-secrets`]) {
      await registry().register(name, Date.now());
    }
    const token = await hs256({ cap: { [mine]: ["subscribe"] }, exp: nowS() + 600 });
    const first = await list(token, { prefix, limit: "1" });
    expect(first).toEqual({ topics: [{ name: mine, createdAt: expect.any(Number) }], cursor: null });

    const none = await hs256({ cap: { [`${prefix}nothing-here`]: ["publish"] }, exp: nowS() + 600 });
    expect(await list(none, { prefix, limit: "1" })).toEqual({ topics: [], cursor: null });
    expect(await list(none, { prefix, limit: "1", cursor: `${prefix}a` })).toEqual({
      topics: [],
      cursor: null,
    });
  });

  it("fills each page with visible names and lists every one of them exactly once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(tail, { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.constantFrom("exact", "prefix", "other"), tail, fc.nat()), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (tails, shapes, limit, narrow) => {
          const prefix = freshPrefix();
          const names = tails.map((t) => `${prefix}${t}`);
          for (const name of names) await registry().register(name, Date.now());
          // Patterns built from the seeded names (so they match some), or from nothing (so they may not).
          const cap: Record<string, string[]> = {};
          for (const [shape, text, pick] of shapes) {
            const base = names[pick % names.length] as string;
            const pattern =
              shape === "exact"
                ? base
                : shape === "prefix"
                  ? `${base.slice(0, prefix.length + (pick % (base.length - prefix.length + 1)))}*`
                  : `${prefix}${text}*`;
            cap[pattern] = ["subscribe"];
          }
          const patterns = Object.keys(cap);
          const visible = (name: string) => patterns.some((p) => patternMatches(p, name));
          // Listing under a longer prefix cuts through the patterns' ranges.
          const listed = narrow ? `${prefix}${tails[0]?.slice(0, 1)}` : prefix;
          const expected = names.filter((n) => n.startsWith(listed) && visible(n)).sort();
          const token = await hs256({ cap, exp: nowS() + 600 });
          expect(await listAll(token, listed, limit, visible)).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("lists everything for a token with a right on every topic, like the admin key", async () => {
    const prefix = freshPrefix();
    const names = ["a", "a_b", "a.b", "b"].map((t) => `${prefix}${t}`);
    for (const name of names) await registry().register(name, Date.now());
    const everywhere = await hs256({ cap: { "*": ["subscribe"] }, exp: nowS() + 600 });
    const sorted = [...names].sort();
    expect(await listAll(everywhere, prefix, 3, () => true)).toEqual(sorted);
    expect(await listAll(ADMIN_KEY, prefix, 2, () => true)).toEqual(sorted);
  });
});
