/**
 * What `npm run setup` decides, as plain functions of what it knows: where Cloudflare credentials
 * come from, which secrets to create and which to keep, the plan a dry run prints, and the summary
 * a real run ends with. scripts/setup.mjs does the talking to wrangler and the network.
 *
 * Erasable TypeScript with node: imports only, so that setup.mjs runs it on Node 22.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The secrets a first deploy creates; each is 32 random bytes, base64url (43 characters). */
export const SECRETS = ["ADMIN_KEY", "JWT_SECRET"] as const;
export type SecretName = (typeof SECRETS)[number];

/** What each secret is for, in the plan and the summary. */
const PURPOSE: Record<SecretName, string> = {
  ADMIN_KEY: "the admin key your servers send as `Authorization: Bearer …`",
  JWT_SECRET: "the HS256 key of the tokens `POST /v1/tokens` mints",
};

/** The topic the printed curl line publishes to (its first publish creates it). */
export const EXAMPLE_TOPIC = "hello";

/**
 * Where Cloudflare credentials would come from, found without asking Cloudflare: an API token or
 * global key in the environment, or the login file `wrangler login` writes (in wrangler's config
 * folder: `~/.wrangler` when it exists, else `$XDG_CONFIG_HOME/.wrangler`, `~/.config/.wrangler`
 * or the platform's equivalent, under `config/`). `null` when there is none: a real run would
 * stop at wrangler's interactive login.
 */
export function findCredentials(
  env: Record<string, string | undefined>,
  home: string = os.homedir(),
  platform: NodeJS.Platform = process.platform,
): string | null {
  if (env.CLOUDFLARE_API_TOKEN) return "the CLOUDFLARE_API_TOKEN environment variable";
  if (env.CLOUDFLARE_API_KEY && env.CLOUDFLARE_EMAIL) {
    return "the CLOUDFLARE_API_KEY and CLOUDFLARE_EMAIL environment variables";
  }
  const dir = path.join(wranglerConfigDir(env, home, platform), "config");
  if (!existsSync(dir)) return null;
  const login = readdirSync(dir).find((file) => file.endsWith(".toml") || file.endsWith(".enc"));
  return login ? `wrangler's login (${path.join(dir, login)})` : null;
}

/** wrangler's global config folder, found the way wrangler finds it. */
function wranglerConfigDir(env: Record<string, string | undefined>, home: string, platform: string): string {
  const legacy = path.join(home, ".wrangler");
  if (existsSync(legacy)) return legacy;
  const base =
    platform === "win32"
      ? env.APPDATA || path.join(home, "AppData", "Roaming")
      : platform === "darwin"
        ? path.join(home, "Library", "Preferences")
        : env.XDG_CONFIG_HOME || path.join(home, ".config");
  return path.join(base, ".wrangler");
}

/** A new secret: 32 bytes from the operating system's CSPRNG, base64url. */
export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** For each secret, what a run does: keep one that is set (never replaced), create one that is not. */
export function secretActions(
  existing: ReadonlySet<string>,
): { name: SecretName; action: "keep" | "create" }[] {
  return SECRETS.map((name) => ({ name, action: existing.has(name) ? "keep" : "create" }));
}

export interface PlanInput {
  worker: string;
  version: string;
  credentials: string | null;
  /** The URL to check, when given with `--url`; otherwise the one wrangler reports. */
  url: string | null;
}

/** The steps of a real run, as a dry run prints them. */
export function planLines({ worker, version, credentials, url }: PlanInput): string[] {
  const target = url ?? "https://<the URL wrangler reports>";
  const lines = [
    `edge-broker setup: dry run, nothing is sent to Cloudflare.`,
    "",
    `Worker: ${worker} (wrangler.toml), release ${version}`,
    credentials
      ? `Cloudflare credentials: ${credentials}`
      : "Cloudflare credentials: none found. A real run stops here: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then `npm run setup` again.",
    "",
    "A real run would:",
    "  1. Deploy the worker (it builds the example page's client bundle first):",
    "       wrangler deploy",
    "     Until step 3 the new broker refuses every request: it fails closed without a credential.",
    "  2. Read which secrets the worker has (names only; values cannot be read back):",
    "       wrangler secret list --format json",
    "  3. For each secret: keep it if it is set (an existing secret is never replaced), else",
    "     generate 32 random bytes (base64url) and store it:",
    ...SECRETS.map((name) => `       ${name}: ${PURPOSE[name]}`),
    "     New secrets go in one request, their values on standard input (never in a file or argument):",
    "       wrangler secret bulk",
    `  4. Check that ${target}/healthz answers {"ok":true,"version":"${version}"} (retrying for up to 2 minutes while the URL comes up).`,
    "  5. With a new ADMIN_KEY: check that the broker accepts it (GET /v1/topics?limit=1).",
    "  6. Print the URL, the new ADMIN_KEY (once: it cannot be read back later) and a curl line that publishes.",
    "",
    "Run again, it deploys the current code and keeps both secrets.",
  ];
  return lines;
}

export interface SummaryInput {
  url: string;
  version: string;
  /** Secrets created by this run, with their values. */
  created: Partial<Record<SecretName, string>>;
  /** Secrets that were set already and kept. */
  kept: SecretName[];
}

/** What a real run prints last: where the broker is, the new admin key once, and how to publish. */
export function summaryLines({ url, version, created, kept }: SummaryInput): string[] {
  const key = created.ADMIN_KEY;
  const lines = ["", `edge-broker ${version} is running at ${url}`, ""];
  if (key) {
    lines.push(`ADMIN_KEY (shown this once; keep it in a password manager): ${key}`);
  } else {
    lines.push(
      "ADMIN_KEY: kept from an earlier setup; its value cannot be read back, use the one you saved.",
    );
  }
  for (const name of kept.filter((n) => n !== "ADMIN_KEY"))
    lines.push(`${name}: kept from an earlier setup.`);
  if (created.JWT_SECRET) lines.push("JWT_SECRET: created; tokens are minted with POST /v1/tokens.");
  lines.push(
    "",
    "Publish a message:",
    `  curl -s -X POST ${url}/v1/topics/${EXAMPLE_TOPIC}/messages -H 'authorization: Bearer ${key ?? "<ADMIN_KEY>"}' \\`,
    `    -H 'content-type: application/json' -d '{"hello": "world"}'`,
  );
  return lines;
}
