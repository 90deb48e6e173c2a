#!/usr/bin/env node
/**
 * `npm run setup`: the first deploy of edge-broker to a Cloudflare account, in one command, and
 * safe to run again. It deploys with the project's own wrangler, creates ADMIN_KEY and JWT_SECRET
 * where they are not set yet (never replacing one that is), checks `/healthz` on the deployed URL,
 * and prints the URL, the new admin key once, and a curl line that publishes.
 * scripts/setup-plan.ts holds the decisions; this file runs them.
 *
 * @example
 * npm run setup                        # deploy, create missing secrets, check, print
 * npm run setup -- --dry-run           # print the plan; nothing is sent to Cloudflare
 * npm run setup -- --url https://broker.example.com   # check this URL (a custom domain)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { findCredentials, generateSecret, planLines, secretActions, summaryLines } from "./setup-plan.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const HEALTH_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: {
    "dry-run": { type: "boolean", default: false },
    url: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: npm run setup [-- --dry-run] [-- --url https://your.domain]");
  process.exit(0);
}

const { version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
const worker = /^name\s*=\s*"([^"]+)"/m.exec(readFileSync(path.join(ROOT, "wrangler.toml"), "utf8"))?.[1];
if (!worker) fail("wrangler.toml has no `name`.");
const url = values.url?.replace(/\/+$/, "") ?? null;
const credentials = findCredentials(process.env);

if (values["dry-run"]) {
  console.log(planLines({ worker, version, credentials, url }).join("\n"));
  process.exit(0);
}
if (!credentials) {
  fail(
    "No Cloudflare credentials found: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then `npm run setup` again.",
  );
}

try {
  await setup();
} catch (error) {
  fail(error.message);
}

/** A real run: deploy, secrets, checks, summary (the steps planLines describes). */
async function setup() {
  console.log(`edge-broker setup: worker ${worker}, release ${version}, credentials from ${credentials}.`);

  step("1. Deploying (wrangler deploy)");
  const deployed = await deploy();
  const base = url ?? deployed;
  if (!base) {
    fail(
      "wrangler reported no URL for the worker (no workers.dev route?): run again with `--url https://…`.",
    );
  }
  console.log(`   deployed: ${deployed ?? "(no workers.dev URL)"}`);

  step("2. Reading the worker's secrets (wrangler secret list)");
  const listing = await wrangler(["secret", "list", "--format", "json"], { capture: true });
  // The JSON array, without whatever wrangler prints around it.
  const listed = JSON.parse(listing.slice(listing.indexOf("["), listing.lastIndexOf("]") + 1) || "[]");
  const existing = new Set(listed.map((secret) => secret.name));

  step("3. Secrets");
  const created = {};
  const kept = [];
  for (const { name, action } of secretActions(existing)) {
    if (action === "keep") {
      kept.push(name);
      console.log(`   ${name}: set already, kept (never replaced)`);
    } else {
      created[name] = generateSecret();
      console.log(`   ${name}: not set, created`);
    }
  }
  if (Object.keys(created).length > 0) {
    await wrangler(["secret", "bulk"], { input: JSON.stringify(created) });
  }

  step(`4. Checking ${base}/healthz`);
  const health = await until(async () => {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) });
    const body = res.ok ? await res.json() : null;
    return body?.ok === true && body.version === version ? body : null;
  });
  if (!health) fail(`${base}/healthz did not answer {"ok":true,"version":"${version}"} within 2 minutes.`);
  console.log(`   ${JSON.stringify(health)}`);

  if (created.ADMIN_KEY) {
    step("5. Checking that the broker accepts the new ADMIN_KEY");
    const accepted = await until(async () => {
      const res = await fetch(`${base}/v1/topics?limit=1`, {
        headers: { authorization: `Bearer ${created.ADMIN_KEY}` },
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      return res.status === 200 ? true : null;
    });
    if (!accepted) fail("the broker did not accept the new ADMIN_KEY within 2 minutes.");
    console.log("   accepted");
  }

  console.log(summaryLines({ url: base, version, created, kept }).join("\n"));
}

/** Runs `wrangler deploy` and returns the first URL it reports (its machine-readable output). */
async function deploy() {
  const dir = mkdtempSync(path.join(tmpdir(), "edge-broker-setup-"));
  const output = path.join(dir, "wrangler-output.json");
  try {
    await wrangler(["deploy"], { env: { WRANGLER_OUTPUT_FILE_PATH: output } });
    const entries = readFileSync(output, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const targets = entries.find((entry) => entry.type === "deploy")?.targets ?? [];
    return targets.find((target) => target.startsWith("https://")) ?? null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the project's own wrangler on this Node.js. Its output goes to the terminal, or is returned
 * with `capture`; `input` is written to its standard input (secret values, never arguments).
 */
function wrangler(args, { capture = false, input, env = {} } = {}) {
  const require = createRequire(import.meta.url);
  const bin = path.join(path.dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: [input === undefined ? "inherit" : "pipe", capture ? "pipe" : "inherit", "inherit"],
    });
    let stdout = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
    });
    if (input !== undefined) child.stdin.end(input);
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`wrangler ${args.join(" ")} exited with ${code}`));
    });
  });
}

/** Calls `attempt` every 2 s until it returns something, for up to HEALTH_TIMEOUT_MS; else null. */
async function until(attempt) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== null) return value;
    } catch {
      // Not reachable yet: a new workers.dev URL takes a little while to come up.
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  return null;
}

function step(title) {
  console.log(`\n${title}`);
}

function fail(message) {
  console.error(`edge-broker setup: ${message}`);
  process.exit(1);
}
