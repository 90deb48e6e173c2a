/**
 * `edge-broker token`: a scoped token, minted by the broker (`POST /v1/tokens`, with the admin
 * key as the credential) or, with `--local`, signed here with JWT_SECRET from the environment or
 * `.dev.vars` (the file `wrangler dev` reads). The rights, the pattern rule and the lifetimes are
 * the broker's own (src/auth/rights.ts), so a token this prints is one the broker accepts.
 */
import { readFileSync } from "node:fs";
import {
  DEFAULT_TOKEN_TTL_MS,
  MAX_TOKEN_TTL_MS,
  MIN_TOKEN_TTL_MS,
  PREFIX_PATTERN_RE,
  RIGHTS,
} from "../../src/auth/rights.ts";
import { isValidName } from "../../src/protocol/names.ts";
import { duration, JSON_OPTION, UsageError } from "../args.mjs";
import { api, Refusal } from "../http.mjs";
import { formatTime, writeOut } from "../output.mjs";

export const token = {
  usage: "",
  summary: "Mint a scoped token for a client",
  description:
    "Mint a token that grants rights on topics, for a browser or a service. By default the broker\n" +
    "mints it (POST /v1/tokens), which needs the admin key as --token or $EDGE_BROKER_TOKEN; with\n" +
    "--local it is signed here with JWT_SECRET (and JWT_ISSUER, JWT_AUDIENCE) from the environment\n" +
    "or .dev.vars in the current directory. The token alone goes to stdout.\n\n" +
    `Rights: ${RIGHTS.join(", ")} (admin implies the others). Patterns: a topic name, or a prefix\n` +
    "ending in * (* alone: every topic). --cap 'orders.*=publish,subscribe;chat.room-1=subscribe'",
  positionals: [0, 0],
  options: {
    cap: {
      type: "string",
      value: "GRANTS",
      describe: "pattern=right[,right] entries separated by ; (required)",
    },
    ttl: { type: "string", value: "DURATION", describe: "how long the token lives, 1s to 366d (default 1h)" },
    sub: { type: "string", value: "NAME", describe: "the token's subject (rate limits count per subject)" },
    local: { type: "boolean", describe: "sign with JWT_SECRET here instead of asking the broker" },
    ...JSON_OPTION,
  },
  examples: [
    "edge-broker token --cap 'chat.room-1=subscribe' --ttl 15m --token \"$ADMIN_KEY\"",
    "edge-broker token --local --cap 'orders.*=publish,subscribe' --ttl 1h",
  ],
  async run({ config, values, name }) {
    if (values.cap === undefined) throw new UsageError("--cap is required", name);
    const cap = parseCapOption(values.cap, name);
    const ttl = duration(values, "ttl", name) ?? DEFAULT_TOKEN_TTL_MS;
    if (ttl < MIN_TOKEN_TTL_MS || ttl > MAX_TOKEN_TTL_MS)
      throw new UsageError("--ttl must be from 1s to 366d", name);
    const minted = values.local
      ? await signLocally(cap, ttl, values.sub, name)
      : (
          await api(config, "POST", ["v1", "tokens"], {
            json: { cap, ttl, ...(values.sub && { sub: values.sub }) },
          })
        ).body;
    if (values.json) return writeOut(`${JSON.stringify(minted)}\n`);
    if (process.stderr.isTTY) process.stderr.write(`expires ${formatTime(minted.expiresAt)}\n`);
    return writeOut(`${minted.token}\n`);
  },
};

/**
 * `orders.*=publish,subscribe;chat.room-1=subscribe` → `{ "orders.*": [...], "chat.room-1": [...] }`.
 *
 * @example
 * parseCapOption("a=publish;a=subscribe", "token"); // { a: ["publish", "subscribe"] }
 */
export function parseCapOption(text, name) {
  const cap = {};
  for (const entry of text
    .split(";")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const eq = entry.lastIndexOf("=");
    if (eq <= 0) throw new UsageError(`--cap: "${entry}" is not pattern=rights`, name);
    const pattern = entry.slice(0, eq).trim();
    const rights = entry
      .slice(eq + 1)
      .split(",")
      .map((r) => r.trim())
      .filter(Boolean);
    if (!isValidName(pattern) && !PREFIX_PATTERN_RE.test(pattern)) {
      throw new UsageError(`--cap: "${pattern}" is not a topic name or a prefix ending in *`, name);
    }
    if (rights.length === 0) throw new UsageError(`--cap: "${pattern}" lists no rights`, name);
    for (const right of rights) {
      if (!RIGHTS.includes(right)) {
        throw new UsageError(`--cap: "${right}" is not a right (${RIGHTS.join(", ")})`, name);
      }
    }
    cap[pattern] = [...new Set([...(cap[pattern] ?? []), ...rights])];
  }
  if (Object.keys(cap).length === 0) throw new UsageError("--cap grants nothing", name);
  return cap;
}

/** An HS256 token signed with JWT_SECRET, as the broker's own minting makes it. */
async function signLocally(cap, ttl, subject, name) {
  const devVars = readDevVars(".dev.vars");
  const setting = (key) => (process.env[key] ?? devVars[key] ?? "").trim() || undefined;
  const secret = setting("JWT_SECRET");
  if (!secret) throw new UsageError("JWT_SECRET is not set (in the environment or .dev.vars)", name);
  const key = new TextEncoder().encode(secret);
  if (key.length < 32)
    throw new UsageError("JWT_SECRET must be at least 32 bytes long, as the broker requires", name);
  let SignJWT;
  try {
    ({ SignJWT } = await import("jose"));
  } catch {
    throw new Refusal(
      "Missing dependency",
      "signing with --local needs the jose package: run `npm ci`",
      undefined,
    );
  }
  const now = Math.floor(Date.now() / 1000);
  const exp = now + Math.ceil(ttl / 1000);
  const jwt = new SignJWT({ cap })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(exp);
  if (subject) jwt.setSubject(subject);
  const issuer = setting("JWT_ISSUER");
  const audience = setting("JWT_AUDIENCE");
  if (issuer) jwt.setIssuer(issuer);
  if (audience) jwt.setAudience(audience);
  return { token: await jwt.sign(key), expiresAt: exp * 1000 };
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
