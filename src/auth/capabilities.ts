import { z } from "zod";
import { NAME_RE } from "../protocol/names";
import { MAX_GRANTS, PREFIX_PATTERN_RE, RIGHTS, type Right } from "./rights";

export { MAX_GRANTS, RIGHTS, type Right };

/** One entry of a `cap` claim: a topic pattern and the rights it grants. */
export interface Grant {
  /** An exact topic name, or a prefix followed by `*` (`*` alone matches every topic). */
  pattern: string;
  rights: readonly Right[];
}

/**
 * Who is calling, once authenticated. `open` is the principal of a broker running with
 * `AUTH=off`: it holds every right through an ordinary grant, so no code path needs a
 * "no principal means allowed" special case that a forgotten middleware could trigger.
 */
export interface Principal {
  kind: "open" | "admin-key" | "token";
  /** The token's `sub` claim, when it has one. */
  subject: string | null;
  grants: readonly Grant[];
  /** Epoch ms after which the credential is no longer valid; `null` when it does not expire. */
  expiresAt: number | null;
}

export const isValidPattern = (pattern: string): boolean =>
  NAME_RE.test(pattern) || PREFIX_PATTERN_RE.test(pattern);

const PatternSchema = z.string().refine(isValidPattern, {
  message: "must be a topic name or a prefix ending in `*`",
});

/** The `cap` claim of a token, validated at the edge (token verification and minting). */
export const CapSchema = z
  .record(PatternSchema, z.array(z.enum(RIGHTS)).min(1, "must list at least one right"))
  .refine((cap) => Object.keys(cap).length <= MAX_GRANTS, `must hold at most ${MAX_GRANTS} patterns`);

/** A `cap` claim as written in a token: `{ "orders.*": ["publish"], "*": ["admin"] }`. */
export type Cap = z.infer<typeof CapSchema>;

/**
 * Validates an untrusted `cap` claim and turns it into grants. The failure is a sentence
 * naming the offending pattern, ready to put in a 401 detail.
 *
 * @example
 * parseCap({ "orders.*": ["publish"] });
 * // { ok: true, grants: [{ pattern: "orders.*", rights: ["publish"] }] }
 * parseCap({ "a*b": ["publish"] });
 * // { ok: false, detail: 'cap["a*b"] must be a topic name or a prefix ending in `*`' }
 */
export function parseCap(input: unknown): { ok: true; grants: Grant[] } | { ok: false; detail: string } {
  // zod drops a `__proto__` key silently; a grant must never vanish without a word.
  if (typeof input === "object" && input !== null && Object.hasOwn(input, "__proto__")) {
    return { ok: false, detail: `cap["__proto__"] must be a topic name or a prefix ending in \`*\`` };
  }
  const parsed = CapSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length
      ? `cap[${issue.path.map((p) => JSON.stringify(String(p))).join("][")}]`
      : "cap";
    // zod reports a bad record key as an issue whose message is the key schema's.
    const message =
      issue?.code === "invalid_key" ? "must be a topic name or a prefix ending in `*`" : issue?.message;
    return { ok: false, detail: `${where} ${message ?? "is malformed"}` };
  }
  // Entries, not the record itself: a principal never carries an object keyed by input.
  const grants = Object.entries(parsed.data).map(([pattern, rights]) => ({
    pattern,
    rights: [...new Set(rights)],
  }));
  return { ok: true, grants };
}

/**
 * Whether a pattern covers a topic: an exact name matches itself only; `prefix*` matches
 * every topic starting with `prefix` (including `prefix` itself); `*` matches every topic.
 *
 * @example
 * patternMatches("orders.*", "orders.eu"); // true
 * patternMatches("orders.*", "orders");    // false
 */
export function patternMatches(pattern: string, topic: string): boolean {
  if (pattern.endsWith("*")) return topic.startsWith(pattern.slice(0, -1));
  return pattern === topic;
}

const grants = (rights: readonly Right[], right: Right): boolean =>
  rights.includes(right) || rights.includes("admin");

/**
 * Whether pattern `q` matches every topic that pattern `p` matches: `*` covers every pattern;
 * `q*` covers `p*` when `p` starts with `q`, and an exact `p` that starts with `q`; an exact
 * name covers only itself.
 *
 * @example
 * patternCovers("orders.*", "orders.eu.*"); // true
 * patternCovers("orders.*", "orders");      // false: "orders" does not start with "orders."
 * patternCovers("orders.eu", "orders.*");   // false
 */
export function patternCovers(q: string, p: string): boolean {
  if (!q.endsWith("*")) return q === p;
  const base = p.endsWith("*") ? p.slice(0, -1) : p;
  return base.startsWith(q.slice(0, -1));
}

/** The first right of `grant` that the principal lacks on part of its pattern, if any. */
export function missingRight(principal: Principal, grant: Grant): Right | null {
  // One grant of the principal must cover the whole pattern for each right: a prefix matches
  // names of 65 next characters and a cap holds at most 64 patterns, so no union of several
  // narrower grants can cover a pattern that none of them covers alone.
  for (const right of grant.rights) {
    const held = principal.grants.some(
      (g) => patternCovers(g.pattern, grant.pattern) && grants(g.rights, right),
    );
    if (!held) return right;
  }
  return null;
}

/**
 * Whether the principal holds every right of `grant` on every topic its pattern matches, so a
 * token carrying `grant` gives nothing its minter lacks. `admin` implies the other rights.
 *
 * @example
 * const minter = principalFromCap({ "orders.*": ["admin"] });
 * covers(minter, { pattern: "orders.eu", rights: ["publish"] }); // true
 * covers(minter, { pattern: "*", rights: ["subscribe"] });       // false
 */
export function covers(principal: Principal, grant: Grant): boolean {
  return missingRight(principal, grant) === null;
}

/**
 * Whether the principal holds `right` on `topic`. Grants add up; `admin` implies
 * `publish` and `subscribe` on the topics it covers.
 *
 * @example
 * const p = principalFromCap({ "chat.room-1": ["subscribe"] });
 * can(p, "subscribe", "chat.room-1"); // true
 * can(p, "publish", "chat.room-1");   // false
 */
export function can(principal: Principal, right: Right, topic: string): boolean {
  return principal.grants.some((g) => patternMatches(g.pattern, topic) && grants(g.rights, right));
}

/**
 * Whether the principal holds `right` on every topic, present and future: only a `*`
 * grant does. Used for operations that are not about one topic (listing topics,
 * minting tokens).
 *
 * @example
 * canEverywhere(ADMIN_PRINCIPAL, "admin"); // true
 */
export function canEverywhere(principal: Principal, right: Right): boolean {
  return principal.grants.some((g) => g.pattern === "*" && grants(g.rights, right));
}

/**
 * The patterns of the topics a principal may see in a listing (those it holds any right on),
 * or `null` when it may see every topic (a `*` grant: the admin key, `AUTH=off`).
 *
 * @example
 * visiblePatterns(principalFromCap({ "orders.*": ["publish"], "chat": ["subscribe"] })); // ["orders.*", "chat"]
 * visiblePatterns(ADMIN_PRINCIPAL); // null
 */
export function visiblePatterns(principal: Principal): string[] | null {
  if (principal.grants.some((g) => g.pattern === "*")) return null;
  return principal.grants.map((g) => g.pattern);
}

/**
 * The patterns of the topics on which a principal holds `right`, or `null` when it holds it on
 * every topic (a `*` grant). An empty list means none.
 *
 * @example
 * patternsWith(principalFromCap({ "orders.*": ["admin"], "chat": ["subscribe"] }), "admin"); // ["orders.*"]
 */
export function patternsWith(principal: Principal, right: Right): string[] | null {
  if (canEverywhere(principal, right)) return null;
  return principal.grants.filter((g) => grants(g.rights, right)).map((g) => g.pattern);
}

/** The principal of the admin key: admin on every topic, never expiring. */
export const ADMIN_PRINCIPAL: Principal = Object.freeze({
  kind: "admin-key",
  subject: null,
  grants: Object.freeze([{ pattern: "*", rights: ["admin"] as const }]),
  expiresAt: null,
});

/** The principal of a broker running with `AUTH=off`: everything is allowed. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({
  kind: "open",
  subject: null,
  grants: Object.freeze([{ pattern: "*", rights: ["admin"] as const }]),
  expiresAt: null,
});

/**
 * Builds a token principal from a `cap` claim that is already trusted (tests, tools).
 * Throws on a malformed claim: untrusted input goes through {@link parseCap}.
 *
 * @example
 * principalFromCap({ "orders.*": ["publish"] }, { subject: "svc-orders" });
 */
export function principalFromCap(
  cap: unknown,
  options: { subject?: string; expiresAt?: number } = {},
): Principal {
  const parsed = parseCap(cap);
  if (!parsed.ok) throw new TypeError(parsed.detail);
  return {
    kind: "token",
    subject: options.subject ?? null,
    grants: parsed.grants,
    expiresAt: options.expiresAt ?? null,
  };
}
