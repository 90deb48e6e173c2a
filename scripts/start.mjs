#!/usr/bin/env node
/**
 * `npm start`: the broker on workerd (`wrangler dev`), SQLite state on disk
 * under `.wrangler/state`, listening on 127.0.0.1:8787, auth off, and push subscriptions
 * allowed to call receivers on this machine (`PUSH_ALLOW_PRIVATE=true`).
 *
 * Every argument after `npm start --` goes to `wrangler dev` after the
 * defaults, so it wins: `--port 9000`, `--persist-to /tmp/broker`,
 * `--var AUTH:required --var JWT_SECRET:…` (a later `--var` overrides an
 * earlier one of the same name).
 *
 * @example
 * npm start
 * npm start -- --port 9000
 * npm start -- --var AUTH:required --var ADMIN_KEY:a-long-local-secret
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const DEFAULTS = { ip: "127.0.0.1", port: "8787", persistTo: ".wrangler/state" };
const READY_TIMEOUT_MS = 60_000;

const userArgs = process.argv.slice(2);

/** The value of `--name value` or `--name=value` in the user's arguments (the last one wins). */
function flag(name) {
  let value;
  userArgs.forEach((arg, i) => {
    if (arg === `--${name}`) value = userArgs[i + 1];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  });
  return value;
}

/** The value the user gave a `--var NAME:value`, if any (the last one wins, as in wrangler). */
function userVar(name) {
  let value;
  userArgs.forEach((arg, i) => {
    const pair = arg === "--var" ? userArgs[i + 1] : arg.startsWith("--var=") ? arg.slice(6) : undefined;
    if (pair?.startsWith(`${name}:`)) value = pair.slice(name.length + 1);
  });
  return value;
}

const ip = flag("ip") ?? DEFAULTS.ip;
const port = flag("port") ?? DEFAULTS.port;
const auth = userVar("AUTH") ?? "off";

// wrangler turns a repeated flag into an array and then rejects it, so a
// default is only passed when the user did not choose the value.
// PUSH_ALLOW_PRIVATE lets push subscriptions call a receiver on this machine (http://127.0.0.1:…);
// a deployment refuses such receivers (wrangler.toml does not set it).
const args = ["dev", "--var", "AUTH:off", "--var", "PUSH_ALLOW_PRIVATE:true"];
if (flag("ip") === undefined) args.push("--ip", DEFAULTS.ip);
if (flag("port") === undefined) args.push("--port", DEFAULTS.port);
if (flag("persist-to") === undefined) args.push("--persist-to", DEFAULTS.persistTo);
args.push(...userArgs);

const host = ip === "0.0.0.0" || ip === "::" || ip === "*" ? "127.0.0.1" : ip.includes(":") ? `[${ip}]` : ip;
const url = `http://${host}:${port}`;
// Something already answering there would pass for the broker in the readiness check below.
if (await answers(url)) {
  console.error(
    `Something is already listening on ${url}: stop it, or pick a port with \`npm start -- --port N\`.`,
  );
  process.exit(1);
}

const require = createRequire(import.meta.url);
const wranglerBin = path.join(path.dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

const child = spawn(process.execPath, [wranglerBin, ...args], {
  stdio: "inherit",
  env: {
    ...process.env,
    // Local runs stay local: no usage metrics, and no fetch of the `Request.cf`
    // sample from workers.cloudflare.com (Miniflare falls back to a placeholder).
    WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false",
    CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
  },
});

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

if (await waitUntilUp(url)) {
  const lines = [``, `  edge-broker is listening on ${url}`];
  if (auth.trim().toLowerCase() === "off") {
    lines.push(`  warning: auth is off (AUTH=off): anyone who can reach this address can publish and read.`);
  } else {
    lines.push(`  auth: ${auth}`);
  }
  console.log(`${lines.join("\n")}\n`);
}

/**
 * True once the broker answers HTTP at all (any status means it is up); false
 * if wrangler exited or took longer than READY_TIMEOUT_MS (its own output says why).
 */
async function waitUntilUp(base) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await answers(base)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

async function answers(base) {
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}
