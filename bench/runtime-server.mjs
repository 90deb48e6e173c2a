#!/usr/bin/env node
/**
 * The runtime under test, in its own process: workerd (through Miniflare's API) running the
 * broker and the ceiling fixture, each on its own direct socket on 127.0.0.1.
 *
 * Why not `wrangler dev`: wrangler 4 answers on its port with a ProxyWorker (a Durable Object in a
 * second workerd instance) that re-sends every request over loopback to the worker's own
 * Miniflare instance, whose entry worker then dispatches it to the user worker. Those two extra
 * hops would be measured as the broker's. Miniflare's `unsafeDirectSockets` binds a workerd socket
 * straight to the worker's service, the way a deployed worker receives its requests.
 *
 * Usage: node bench/runtime-server.mjs <broker-bundle.js> <state-dir>
 * Prints one JSON line `{"broker": url, "ceiling": url}` once both answer, then serves until
 * SIGTERM / SIGINT or until its stdin closes (the driver died), and removes nothing: the driver
 * owns the state directory.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The Miniflare (and so the workerd) that wrangler itself runs for `npm start`: wrangler 4.164
// carries its own, newer than the top-level `miniflare` package, and only it supports the
// compatibility date in wrangler.toml.
const requireFromWrangler = createRequire(createRequire(import.meta.url).resolve("wrangler/package.json"));
const { Log, LogLevel, Miniflare, convertV4MiniflareOptions } = await import(
  requireFromWrangler.resolve("miniflare")
);

const [bundle, stateDir] = process.argv.slice(2);
if (!bundle || !stateDir) {
  console.error("usage: node bench/runtime-server.mjs <broker-bundle.js> <state-dir>");
  process.exit(2);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const wranglerToml = readFileSync(path.join(here, "..", "wrangler.toml"), "utf8");
/** Same date and flags as the deployed worker, read from wrangler.toml so they cannot drift. */
const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(wranglerToml)?.[1];
const compatibilityFlags = JSON.parse(
  /^compatibility_flags\s*=\s*(\[[^\]]*\])/m.exec(wranglerToml)?.[1] ?? "[]",
);

const direct = [{ host: "127.0.0.1", port: 0 }];

/** Miniflare 5 takes a new shape of options; it converts the long-standing one it documents. */
const options = (v4) => (convertV4MiniflareOptions ? convertV4MiniflareOptions(v4) : v4);

const mf = new Miniflare(
  options({
    host: "127.0.0.1",
    port: 0,
    // No fetch of the `Request.cf` sample from the network: a placeholder is used.
    cf: false,
    log: new Log(LogLevel.WARN),
    // `--profile` only: the V8 inspector, to take CPU profiles of the workers' isolate.
    ...(process.env.BENCH_INSPECTOR === "1" && { inspectorPort: 0, inspectorHost: "127.0.0.1" }),
    resourcePersistencePath: stateDir,
    workers: [
      {
        name: "broker",
        modules: true,
        scriptPath: bundle,
        // Module names are paths relative to this root, and may not climb out of it.
        modulesRoot: path.dirname(bundle),
        compatibilityDate,
        compatibilityFlags,
        // Relays engage past 250 live sockets a topic (5,000 deployed), so the fan-out scenario's
        // 1,000 tails run through relays; the topic's cap is lifted for the audience scenario.
        bindings: {
          AUTH: "off",
          MAX_SOCKETS_PER_RELAY: process.env.BENCH_SOCKETS_PER_RELAY ?? "250",
          MAX_SOCKETS_PER_TOPIC: "100000",
          MAX_RELAYS_PER_TOPIC: "1000",
          PUSH_ALLOW_PRIVATE: "true",
        },
        durableObjects: {
          TOPIC: { className: "Topic", useSQLite: true },
          REGISTRY: { className: "Registry", useSQLite: true },
          EDGE: { className: "Edge", useSQLite: true },
        },
        unsafeDirectSockets: direct,
      },
      {
        name: "ceiling",
        modules: true,
        scriptPath: path.join(here, "fixtures", "ceiling-worker.js"),
        modulesRoot: path.join(here, "fixtures"),
        compatibilityDate,
        compatibilityFlags,
        durableObjects: { CEILING: { className: "Ceiling", useSQLite: true } },
        unsafeDirectSockets: direct,
      },
    ],
  }),
);

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await mf.dispose().catch(() => {});
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(0));
process.stdin.on("close", () => stop(0));
process.stdin.resume();

try {
  await mf.ready;
  const broker = (await mf.unsafeGetDirectURL("broker")).origin;
  const ceiling = (await mf.unsafeGetDirectURL("ceiling")).origin;
  const inspector = process.env.BENCH_INSPECTOR === "1" ? (await mf.getInspectorURL()).origin : null;
  process.stdout.write(`${JSON.stringify({ broker, ceiling, inspector, pid: process.pid })}\n`);
} catch (error) {
  console.error("the runtime did not start:", error);
  await stop(1);
}
