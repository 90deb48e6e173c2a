/**
 * Builds the broker the way it is deployed and starts the runtime under test
 * (bench/runtime-server.mjs) in a process of its own.
 */
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { processTree } from "./proc.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const require = createRequire(import.meta.url);
const wranglerBin = path.join(path.dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const quietEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/** Runs a child to completion, bounded in time; rejects with its output on failure. */
function run(command, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: quietEnv, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else
        reject(
          new Error(`${path.basename(args[0] ?? command)} exited with ${code}:\n${output.slice(-2000)}`),
        );
    });
  });
}

/**
 * Bundles the worker exactly as `wrangler deploy` would upload it (`--dry-run --outdir`), so the
 * benchmark runs the deployed code, module for module.
 */
export async function bundleBroker(dir) {
  const outdir = path.join(dir, "bundle");
  await run(process.execPath, [wranglerBin, "deploy", "--dry-run", "--outdir", outdir], 120_000);
  return path.join(outdir, "index.js");
}

/**
 * Starts bench/runtime-server.mjs on a fresh state directory. Resolves once the broker and the
 * ceiling fixture both listen. `bundle` runs an already built worker instead of this checkout's
 * (to measure a change side by side); `inspector` opens the V8 inspector (for --profile).
 */
export async function startRuntime(dir, { bundle: prebuilt, inspector = false } = {}) {
  const bundle = prebuilt ?? (await bundleBroker(dir));
  const stateDir = path.join(dir, "state");
  mkdirSync(stateDir, { recursive: true });
  const logFile = path.join(dir, "runtime.log");
  const child = spawn(process.execPath, [path.join(root, "bench", "runtime-server.mjs"), bundle, stateDir], {
    cwd: root,
    env: { ...quietEnv, BENCH_INSPECTOR: inspector ? "1" : "0" },
    stdio: ["pipe", "pipe", openSync(logFile, "a")],
    // Its own process group, so that a stuck runtime and its workerd can be killed together.
    detached: true,
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const urls = await new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(
      () => reject(new Error("the runtime did not start within 60 s")),
      START_TIMEOUT_MS,
    );
    child.stdout.on("data", (data) => {
      buffer += data;
      const line = buffer.split("\n")[0];
      if (buffer.includes("\n")) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the runtime exited with ${code}:\n${tail(logFile)}`));
    });
  });
  const workerd = processTree(child.pid).filter((pid) => pid !== child.pid);

  return {
    broker: urls.broker,
    ceiling: urls.ceiling,
    /** The broker's bundle and the ceiling's script: what profiles map back to. */
    bundle,
    ceilingScript: path.join(root, "bench", "fixtures", "ceiling-worker.js"),
    /** The V8 inspector's origin when asked for, else null. */
    inspector: urls.inspector,
    /** The workerd process(es) serving both workers. */
    serverPids: workerd,
    logFile,
    async stop() {
      child.stdin.end();
      child.kill("SIGTERM");
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

function tail(file) {
  try {
    return readFileSync(file, "utf8").slice(-3000);
  } catch {
    return "";
  }
}
