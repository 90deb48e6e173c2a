/**
 * Parses `ALLOWED_ORIGINS` (comma-separated origins like `https://app.example.com`).
 * Returns `null` when unset (no origin check), the normalised origins otherwise, or a
 * sentence naming the first entry that is not an origin.
 *
 * @example
 * parseAllowedOrigins("https://app.example.com, http://localhost:5173");
 * // { ok: true, origins: ["https://app.example.com", "http://localhost:5173"] }
 */
export function parseAllowedOrigins(
  value: string | undefined,
): { ok: true; origins: string[] | null } | { ok: false; detail: string } {
  const entries = (value ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) return { ok: true, origins: null };
  const origins: string[] = [];
  for (const entry of entries) {
    const origin = normaliseOrigin(entry);
    if (origin === null) {
      return {
        ok: false,
        detail: `ALLOWED_ORIGINS entry ${JSON.stringify(entry)} is not an origin: write it as scheme://host[:port], like https://app.example.com.`,
      };
    }
    origins.push(origin);
  }
  return { ok: true, origins };
}

function normaliseOrigin(entry: string): string | null {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  // An entry with a path, query or credentials is a mistake, not an origin: refuse it
  // rather than silently widening it to its origin.
  if (
    url.pathname !== "/" ||
    url.search !== "" ||
    url.hash !== "" ||
    url.username !== "" ||
    url.password !== ""
  ) {
    return null;
  }
  return url.origin;
}

/**
 * Whether a request's `Origin` may open a socket. With no allowlist every origin may. A
 * request without `Origin` comes from a non-browser client, which could send any value
 * it liked anyway: the check exists to stop other sites' pages from using a visitor's
 * browser, and browsers always send `Origin` on WebSocket handshakes.
 *
 * @example
 * isOriginAllowed("https://app.example.com", ["https://app.example.com"]); // true
 * isOriginAllowed("https://evil.example", ["https://app.example.com"]);    // false
 * isOriginAllowed(null, ["https://app.example.com"]);                      // true
 */
export function isOriginAllowed(origin: string | null, allowed: readonly string[] | null): boolean {
  if (allowed === null || origin === null) return true;
  // `null` is what sandboxed frames and file:// pages send; it names no site to allow.
  if (origin === "null") return false;
  const normalised = normaliseOrigin(origin);
  return normalised !== null && allowed.includes(normalised);
}
