#!/usr/bin/env node
/**
 * `npm run test:runtimes`: the client SDK (dist/client) on Node.js, Deno, Bun and workerd against
 * a real broker. For Node.js, Deno and Bun it starts a broker (`npm start`'s script, via the e2e
 * harness), runs
 * test/runtimes/<runtime>.mjs, which consumes a subscription and tails the topic, publishes over
 * HTTP, crashes the broker, publishes while the client cannot reach it (a second broker on the
 * same state, on another port), brings the broker back on its port, and checks that the runtime
 * got every message exactly once, in order, and that the subscription's backlog is empty. For
 * Workers it runs test/runtimes/worker.mjs in workerd (Miniflare) with a service binding to the
 * broker (see checkWorker).
 *
 * Deno and Bun are found as $DENO_BIN / $BUN_BIN, on the PATH, or where `--install` puts them:
 * the npm packages `deno` and `bun`, installed with their install scripts off into
 * node_modules/.cache/edge-broker-runtimes. Their install scripts only link or download the
 * binary that npm already installs from a platform package (`@deno/linux-x64-glibc`,
 * `@oven/bun-linux-x64`, …), and this script runs that binary directly.
 *
 * A runtime that is not there is reported as not run; with `--install`, or when named on the
 * command line, a runtime that cannot run is a failure.
 *
 * @example
 * npm run test:runtimes                   # every runtime available
 * npm run test:runtimes -- --install      # install Deno and Bun first (what CI does)
 * npm run test:runtimes -- deno workers   # only these
 */
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createInterface } from "node:readline";
import { freshTopic, removeState, startBroker } from "../test/e2e/harness.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const TOOLS = path.join(ROOT, "node_modules", ".cache", "edge-broker-runtimes");
/** Pinned, so a check that passed keeps passing until someone moves the pin. */
const VERSIONS = { deno: "2.9.6", bun: "1.4.5" };
const COUNT = 6;
const STEP_MS = 30_000;

const RUNTIMES = {
  node: {
    find: () => process.execPath,
    args: (script) => [script],
  },
  workers: {
    // workerd through Miniflare, a dev dependency: always there.
    find: () => "workerd",
    version: () => `(miniflare ${createRequire(import.meta.url)("miniflare/package.json").version})`,
    check: checkWorker,
  },
  deno: {
    find: () => process.env.DENO_BIN ?? onPath("deno") ?? installed("@deno", (dir) => path.join(dir, "deno")),
    args: (script) => [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      "--allow-env=BROKER_URL,TOPIC,COUNT",
      script,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  },
  bun: {
    find: () =>
      process.env.BUN_BIN ?? onPath("bun") ?? installed("@oven", (dir) => path.join(dir, "bin", "bun")),
    args: (script) => [script],
    env: { DO_NOT_TRACK: "1", NO_COLOR: "1" },
  },
};

const argv = process.argv.slice(2);
const install = argv.includes("--install");
const named = argv.filter((arg) => !arg.startsWith("--"));
for (const name of named) {
  if (!(name in RUNTIMES)) {
    console.error(`unknown runtime "${name}": choose from ${Object.keys(RUNTIMES).join(", ")}`);
    process.exit(2);
  }
}
const chosen = named.length > 0 ? named : Object.keys(RUNTIMES);
const required = install || named.length > 0;

if (!existsSync(path.join(ROOT, "dist", "client", "index.js"))) {
  console.error(
    "dist/client/index.js is missing: run `npm run build:client` (`npm run test:runtimes` does).",
  );
  process.exit(1);
}
if (install) installMissing(chosen.filter((name) => name !== "node" && RUNTIMES[name].find() === undefined));

const counts = { passed: 0, failed: 0, skipped: 0 };
for (const name of chosen) {
  const runtime = RUNTIMES[name];
  const binary = runtime.find();
  if (binary === undefined) {
    const how = `install it, put it on the PATH, set ${name.toUpperCase()}_BIN, or run \`npm run test:runtimes -- --install\``;
    console.log(`${required ? "✘" : "-"} ${name}: not run: ${name} was not found (${how})`);
    counts[required ? "failed" : "skipped"]++;
    continue;
  }
  const label = `${name} ${runtime.version?.() ?? version(binary)}`;
  const started = performance.now();
  try {
    const summary = await (runtime.check?.() ?? check(binary, runtime, name));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`✔ ${label}: ${summary} (${seconds} s)`);
    counts.passed++;
  } catch (error) {
    console.log(`✘ ${label}: ${error.message}`);
    counts.failed++;
  }
}
console.log(`runtimes: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(counts.failed > 0 ? 1 : 0);

/** Runs one runtime's script through a broker crash; resolves to its summary or throws why it failed. */
async function check(binary, runtime, name) {
  const brokers = [];
  const start = async (options) => {
    const broker = await startBroker(options);
    brokers.push(broker);
    return broker;
  };
  let child;
  try {
    let broker = await start();
    const { port, stateDir } = broker;
    const topic = freshTopic();
    await publish(broker, topic, 1); // a live tail needs the topic to exist

    child = spawn(binary, runtime.args(path.join(ROOT, "test", "runtimes", `${name}.mjs`)), {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...runtime.env, BROKER_URL: broker.url, TOPIC: topic, COUNT: String(COUNT) },
    });
    const output = watch(child);

    await output.line("open");
    for (const n of [2, 3]) await publish(broker, topic, n);
    await output.line("have 3");

    await broker.kill();
    await output.line("lost subscription");
    await output.line("lost tail");
    const elsewhere = await start({ stateDir });
    for (const n of [4, 5]) await publish(elsewhere, topic, n);
    await elsewhere.stop();
    broker = await start({ port, stateDir });
    await publish(broker, topic, 6);

    const result = await output.line((line) => line.startsWith("ok ") || line.startsWith("fail "));
    const code = await output.exit();
    if (result.startsWith("fail ") || code !== 0) {
      throw new Error(`${result} (exit code ${code})${output.errors()}`);
    }
    const info = await fetch(`${broker.url}/v1/topics/${topic}/subscriptions/runtime-check`);
    const { stats } = await info.json();
    if (stats.backlog !== 0 || stats.inFlight !== 0) {
      throw new Error(`the subscription still holds messages: ${JSON.stringify(stats)}`);
    }
    return result.slice(3);
  } finally {
    if (child?.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    for (const broker of brokers) await broker.stop();
    if (brokers[0]) await removeState(brokers[0]);
  }
}

/**
 * Runs test/runtimes/worker.mjs in workerd with a service binding to a real broker: it publishes
 * through the binding, and consumes and tails over WebSocket, within one request.
 */
async function checkWorker() {
  const { Miniflare } = await import("miniflare");
  const broker = await startBroker();
  let worker;
  try {
    worker = new Miniflare({
      modules: true,
      scriptPath: path.join(ROOT, "test", "runtimes", "worker.mjs"),
      modulesRoot: ROOT,
      modulesRules: [{ type: "ESModule", include: ["**/*.js", "**/*.mjs"] }],
      compatibilityDate: "2026-08-01", // as in wrangler.toml
      serviceBindings: { BROKER: { external: { address: `127.0.0.1:${broker.port}`, http: {} } } },
    });
    const topic = freshTopic();
    const response = await worker.dispatchFetch("http://worker/", {
      method: "POST",
      body: JSON.stringify({ url: broker.url, topic, count: COUNT }),
      signal: AbortSignal.timeout(STEP_MS),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`the worker answered ${response.status}: ${text}`);
    const got = JSON.parse(text);
    const expected = JSON.stringify(Array.from({ length: COUNT }, (_, i) => i + 1));
    for (const what of ["published", "consumed", "tailed"]) {
      if (JSON.stringify(got[what]) !== expected) throw new Error(`${what} [${got[what]}], not ${expected}`);
    }
    const info = await fetch(`${broker.url}/v1/topics/${topic}/subscriptions/worker-check`);
    const { stats } = await info.json();
    if (stats.backlog !== 0 || stats.inFlight !== 0 || stats.acked !== COUNT) {
      throw new Error(`the subscription's acks did not all arrive: ${JSON.stringify(stats)}`);
    }
    return `${COUNT} messages published through a service binding, consumed and tailed over WebSocket`;
  } finally {
    await worker?.dispose();
    await broker.stop();
    await removeState(broker);
  }
}

async function publish(broker, topic, n) {
  const response = await fetch(`${broker.url}/v1/topics/${topic}/messages`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: `message ${n}`,
    signal: AbortSignal.timeout(STEP_MS),
  });
  const answer = await response.json();
  if (response.status !== 201 || answer.seq !== n) {
    throw new Error(`publishing message ${n} was answered ${response.status} ${JSON.stringify(answer)}`);
  }
}

/** The child's output lines, waited for one at a time with a deadline each. */
function watch(child) {
  const lines = [];
  /** What it printed, each line after the seconds since it started: for failure messages. */
  const printed = [];
  const startedAt = performance.now();
  let stderr = "";
  let wake = () => {};
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    printed.push(`${((performance.now() - startedAt) / 1000).toFixed(1)}s ${line}`);
    wake();
  });
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  exited.then(() => wake());
  const errors = () => (stderr.trim() === "" ? "" : `\n  stderr: ${stderr.trim().replaceAll("\n", "\n  ")}`);

  return {
    errors,
    exit: () => withDeadline(exited, "the script did not exit"),
    /** The first line (from the start) that matches; a string must match a whole line. */
    async line(match) {
      const test = typeof match === "string" ? (line) => line === match : match;
      const deadline = Date.now() + STEP_MS;
      while (true) {
        const found = lines.find(test);
        if (found !== undefined) return found;
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`the script exited before printing "${match}": ${printed.join(" | ")}${errors()}`);
        }
        if (Date.now() > deadline) {
          throw new Error(
            `no "${match}" within ${STEP_MS} ms; it printed: ${printed.join(" | ")}${errors()}`,
          );
        }
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, 250);
        });
      }
    },
  };
}

async function withDeadline(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${STEP_MS} ms`)), STEP_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function version(binary) {
  try {
    const out = execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000 });
    return out
      .split("\n")[0]
      .replace(/^(deno|bun)\s*/, "")
      .split(" ")[0];
  } catch {
    return "(version unknown)";
  }
}

/** An executable of that name on the PATH. */
function onPath(command) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return undefined;
}

/** A binary from a platform package under TOOLS (npm installs only the one for this machine). */
function installed(scope, binaryIn) {
  const dir = path.join(TOOLS, "node_modules", scope);
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir)) {
    const file = binaryIn(path.join(dir, entry));
    if (existsSync(file)) return file;
  }
  return undefined;
}

function installMissing(names) {
  if (names.length === 0) return;
  const specs = names.map((name) => `${name}@${VERSIONS[name]}`);
  console.log(`installing ${specs.join(" ")} into ${path.relative(ROOT, TOOLS)}`);
  try {
    // npm installs into --prefix only if it exists; without a package.json there, it leaves none.
    mkdirSync(TOOLS, { recursive: true });
    execFileSync(
      "npm",
      [
        "install",
        "--prefix",
        TOOLS,
        "--no-save",
        "--no-package-lock",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        ...specs,
      ],
      { stdio: "inherit", timeout: 300_000 },
    );
  } catch (error) {
    console.log(`✘ could not install ${specs.join(" ")}: ${error.message}`);
  }
}
