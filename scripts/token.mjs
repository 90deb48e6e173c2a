#!/usr/bin/env node
// Mints a broker token (HS256 with JWT_SECRET) for development and server-side apps.
//
//   npm run token -- --cap 'orders.*=publish,subscribe;chat.room-1=subscribe' --ttl 1h [--sub name]
//
// JWT_SECRET, JWT_ISSUER and JWT_AUDIENCE come from the environment, else from .dev.vars in
// the current directory (the file `wrangler dev` reads). The token goes to stdout alone, so
// `TOKEN=$(npm run -s token -- --cap '*=admin')` works.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";

const RIGHTS = new Set(["publish", "subscribe", "admin"]);
// Same rules as src/auth/capabilities.ts: an exact topic name, or a prefix ending in `*`.
const PATTERN_RE = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,127}|(?:[A-Za-z0-9][A-Za-z0-9._-]{0,126})?\*)$/;
const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_TTL_MS = 366 * 86_400_000;
const USAGE =
  "usage: npm run token -- --cap 'pattern=right[,right][;pattern=right…]' [--ttl 1h] [--sub name]\n" +
  "  rights: publish, subscribe, admin; patterns: a topic name or a prefix ending in *";

function fail(message) {
  process.stderr.write(`token: ${message}\n${USAGE}\n`);
  process.exit(2);
}

/** `orders.*=publish,subscribe;chat.room-1=subscribe` → `{ "orders.*": [...], ... }`. */
function parseCapArg(text) {
  const cap = {};
  for (const entry of text
    .split(";")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const eq = entry.lastIndexOf("=");
    if (eq <= 0) throw new Error(`"${entry}" is not pattern=rights`);
    const pattern = entry.slice(0, eq).trim();
    const rights = entry
      .slice(eq + 1)
      .split(",")
      .map((r) => r.trim())
      .filter(Boolean);
    if (!PATTERN_RE.test(pattern))
      throw new Error(`"${pattern}" is not a topic name or a prefix ending in *`);
    if (rights.length === 0) throw new Error(`"${pattern}" lists no rights`);
    for (const right of rights) if (!RIGHTS.has(right)) throw new Error(`"${right}" is not a right`);
    cap[pattern] = [...new Set([...(cap[pattern] ?? []), ...rights])];
  }
  if (Object.keys(cap).length === 0) throw new Error("--cap grants nothing");
  return cap;
}

/** `250ms`, `30s`, `15m`, `1h`, `7d` or plain milliseconds, as in src/protocol/duration.ts. */
function parseTtl(text) {
  if (/^\d+$/.test(text)) return Number(text);
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration like 15m or 24h`);
  return Math.round(Number(match[1]) * UNITS[match[2]]);
}

/** KEY=value lines of a .dev.vars file; quotes around a value are dropped. */
function readDevVars(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  const vars = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    let value = match[2];
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    vars[match[1]] = value;
  }
  return vars;
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: { cap: { type: "string" }, ttl: { type: "string", default: "1h" }, sub: { type: "string" } },
      strict: true,
    }));
  } catch (error) {
    fail(error.message);
  }
  if (!values.cap) fail("--cap is required");

  let cap;
  let ttl;
  try {
    cap = parseCapArg(values.cap);
    ttl = parseTtl(values.ttl);
  } catch (error) {
    fail(error.message);
  }
  if (ttl < 1_000 || ttl > MAX_TTL_MS) fail("--ttl must be from 1s to 366d");

  const devVars = readDevVars(".dev.vars");
  const setting = (name) => (process.env[name] ?? devVars[name] ?? "").trim() || undefined;
  const secret = setting("JWT_SECRET");
  if (!secret) fail("JWT_SECRET is not set (in the environment or .dev.vars)");
  const key = new TextEncoder().encode(secret);
  if (key.length < 32) fail("JWT_SECRET must be at least 32 bytes long, as the broker requires");

  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ cap })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + Math.ceil(ttl / 1000));
  if (values.sub) jwt.setSubject(values.sub);
  const issuer = setting("JWT_ISSUER");
  const audience = setting("JWT_AUDIENCE");
  if (issuer) jwt.setIssuer(issuer);
  if (audience) jwt.setAudience(audience);
  process.stdout.write(`${await jwt.sign(key)}\n`);
}

await main();
