/**
 * The signed-in credential and what it may do. The secret lives in this tab's
 * `sessionStorage` only (gone when the tab closes, never in a URL, never in another tab), and is
 * sent as `Authorization: Bearer …`, as the broker takes the admin key and tokens alike.
 *
 * What it may do is known before asking where the broker can be read: a token's `cap` claim
 * (read, not verified: the broker verifies), the admin key's everything, and, from the broker's
 * answers, `admin` on a topic exactly when its info carries `config`. Where the guess was wrong,
 * the broker's 403 is remembered per topic and right, so the action is shown as refused with
 * the broker's own words from then on.
 */
const STORAGE_KEY = "edge-broker.dashboard.credential";

/** Every right, weakest first; `admin` implies the others (as src/auth/rights.ts says). */
export const RIGHTS = ["publish", "subscribe", "admin"];

/** Characters a WebSocket subprotocol entry may hold (RFC 9110 token): else the SDK would use the URL. */
const SUBPROTOCOL_SAFE_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * @typedef {object} Credential
 * @property {string} secret the admin key or token, `""` for none
 * @property {"open" | "key" | "token"} kind `open`: the broker runs with auth off
 * @property {Record<string, string[]> | null} cap a token's grants
 * @property {number | null} exp a token's expiry, epoch ms
 * @property {string | null} sub a token's subject
 */

/** The credential kept for this tab, or null. */
export function loadCredential() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null");
    return stored && typeof stored.secret === "string" ? stored : null;
  } catch {
    return null;
  }
}

export function saveCredential(credential) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credential));
}

export function forgetCredential() {
  sessionStorage.removeItem(STORAGE_KEY);
}

/**
 * What a secret the broker accepted is. `authOff` when the broker also answered without one.
 *
 * @example
 * describeCredential("eyJhbGciOi…", false); // { kind: "token", cap: { "orders.*": ["admin"] }, … }
 */
export function describeCredential(secret, authOff) {
  const claims = authOff ? null : jwtClaims(secret);
  if (authOff) return { secret, kind: "open", cap: null, exp: null, sub: null };
  if (claims === null) return { secret, kind: "key", cap: null, exp: null, sub: null };
  return {
    secret,
    kind: "token",
    cap: claims.cap && typeof claims.cap === "object" ? claims.cap : {},
    exp: typeof claims.exp === "number" ? claims.exp * 1000 : null,
    sub: typeof claims.sub === "string" ? claims.sub : null,
  };
}

/** True when the SDK can carry the secret in a WebSocket subprotocol entry rather than a URL. */
export function fitsSubprotocol(secret) {
  return secret === "" || SUBPROTOCOL_SAFE_RE.test(secret);
}

function jwtClaims(secret) {
  const parts = secret.split(".");
  if (parts.length !== 3) return null;
  try {
    const json = (part) =>
      JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(base64(part)), (c) => c.charCodeAt(0))));
    return typeof json(parts[0]).alg === "string" ? json(parts[1]) : null;
  } catch {
    return null;
  }
}

const base64 = (part) =>
  part
    .replaceAll("-", "+")
    .replaceAll("_", "/")
    .padEnd(Math.ceil(part.length / 4) * 4, "=");

/** A topic pattern of a `cap` claim: an exact name, or a prefix ending in `*`. */
function matches(pattern, topic) {
  return pattern.endsWith("*") ? topic.startsWith(pattern.slice(0, -1)) : pattern === topic;
}

/**
 * What the credential may do, per topic and right: predicted, then corrected by the broker.
 *
 * @example
 * const rights = new Rights(credential);
 * rights.why("admin", "orders"); // null when allowed, else a sentence saying why not
 */
export class Rights {
  #credential;
  /** `${right} ${topic}` → the broker's refusal (or our reading of its answer). */
  #refused = new Map();

  constructor(credential) {
    this.#credential = credential;
  }

  /** Null when the credential may (as far as is known) do `right` on `topic`; else why not. */
  why(right, topic) {
    const { kind, cap } = this.#credential;
    const held =
      kind !== "token" ||
      Object.entries(cap).some(
        ([pattern, rights]) =>
          matches(pattern, topic) &&
          Array.isArray(rights) &&
          (rights.includes(right) || rights.includes("admin")),
      );
    if (!held) return `this token holds no "${right}" on "${topic}"`;
    return this.#refused.get(`${right} ${topic}`) ?? null;
  }

  /** True when some grant gives `right` on some topic (whether a create button is worth showing). */
  anywhere(right) {
    const { kind, cap } = this.#credential;
    if (kind !== "token") return true;
    return Object.values(cap).some((rights) => rights.includes(right) || rights.includes("admin"));
  }

  /** Remembers that the broker refused `right` on `topic`, in its words. */
  refuse(right, topic, reason) {
    this.#refused.set(`${right} ${topic}`, reason);
  }

  /** Learns from a topic's info: `config` is answered exactly to those with `admin` on it. */
  learnFromInfo(topic, info) {
    if (info && !("config" in info))
      this.refuse(
        "admin",
        topic,
        `the broker shows "${topic}" to this credential without its config, which it shows to admin only`,
      );
  }
}
