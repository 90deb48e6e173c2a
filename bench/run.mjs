#!/usr/bin/env node
/**
 * `npm run bench`: edge-broker on workerd, driven from this process over loopback, with its
 * ceilings (a no-op Worker, a no-op Durable Object) and a peer (nginx + nchan + Redis) measured
 * side by side in the same run. Prints Markdown tables and writes every number, repetitions
 * included, to bench/results/<time>.json. docs/benchmarks.md explains the numbers.
 *
 *   npm run bench                       # full run: 3 repetitions, under 10 minutes
 *   npm run bench -- --quick            # 1 repetition, short phases, under 2 minutes
 *   npm run bench -- --only publish,cost   # some scenarios: publish, deliver, fanout, cost, push, route, audience, sdk
 *   npm run bench -- --no-peer          # skip nginx + nchan even when installed
 *   npm run bench -- --profile          # V8 CPU profiles of the broker instead of the scenarios
 *   npm run bench -- --only audience --audience 5000,10000   # scenario 6 with other audiences
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { httpPool } from "./lib/http-client.mjs";
import { detectPeer, PEER_INSTALL, startPeer } from "./lib/peer.mjs";
import {
  audienceTable,
  ceilingTable,
  costTable,
  deliverTable,
  fanoutTable,
  publishTable,
  routeTable,
  targets,
} from "./lib/report.mjs";
import { startRuntime } from "./lib/runtime.mjs";
import { broadcastCeilingTarget, brokerTarget } from "./lib/targets.mjs";
import { runAudience } from "./scenarios/audience.mjs";
import { runCost } from "./scenarios/cost.mjs";
import { runDeliver } from "./scenarios/deliver.mjs";
import { runFanout } from "./scenarios/fanout.mjs";
import { runProfile } from "./scenarios/profile.mjs";
import { CEILINGS, PUBLISH_SHAPES, runPublish } from "./scenarios/publish.mjs";
import { pushTable, runPush } from "./scenarios/push.mjs";
import { runRoute } from "./scenarios/route.mjs";
import { runSdk, sdkTable } from "./scenarios/sdk.mjs";

const MODES = {
  full: {
    reps: 3,
    warmupMs: 750,
    durationMs: 2_500,
    fanoutCounts: [1, 100, 1_000],
    naiveCounts: [1, 100, 1_000],
    durableCounts: [100],
    audienceSizes: [5_000],
  },
  // The naive broadcast falls seconds behind at 1,000 sockets; waiting for it would double --quick.
  quick: {
    reps: 1,
    warmupMs: 500,
    durationMs: 1_500,
    fanoutCounts: [1, 100, 1_000],
    naiveCounts: [1, 100],
    durableCounts: [],
    audienceSizes: [1_000],
  },
};
const SCENARIOS = ["publish", "deliver", "fanout", "cost", "push", "route", "audience", "sdk"];
/** Scenario 2's fixed rates; half of scenario 1's best single-message throughput is added. */
const DELIVER_RATES = [100, 500, 1_000];
/** Live sockets a topic holds before tails go to relays, in the bench's runtime (runtime-server.mjs). */
const SOCKETS_PER_RELAY = Number(process.env.BENCH_SOCKETS_PER_RELAY ?? 250);
/** Nothing runs past this: a stuck phase fails the run instead of holding the machine. */
const RUN_DEADLINE_MS = 15 * 60_000;

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    "no-peer": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    audience: { type: "string" },
  },
});
const mode = { name: args.quick ? "quick" : "full", ...(args.quick ? MODES.quick : MODES.full) };
const only = args.only ? args.only.split(",").map((s) => s.trim()) : SCENARIOS;
for (const name of only) {
  if (!SCENARIOS.includes(name))
    throw new Error(`--only: unknown scenario "${name}" (${SCENARIOS.join(", ")})`);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const startedAt = new Date();
const log = (line) => console.log(line);
const section = (title) => log(`\n== ${title}`);

const deadline = setTimeout(() => {
  console.error(`bench: still running after ${RUN_DEADLINE_MS / 60_000} minutes; giving up`);
  process.exit(1);
}, RUN_DEADLINE_MS);
deadline.unref();

const workDir = mkdtempSync(path.join(os.tmpdir(), "edge-broker-bench-"));
let runtime = null;
let peer = null;
const stopAll = async () => {
  await Promise.allSettled([runtime?.stop(), peer?.stop()]);
  rmSync(workDir, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopAll().finally(() => process.exit(130));
  });
}

const results = { mode, machine: machine(), startedAt: startedAt.toISOString() };
try {
  log(
    `edge-broker bench (${mode.name}: ${mode.reps} repetition(s), ${mode.warmupMs} ms warm-up, ${mode.durationMs} ms phases)`,
  );
  // The audience scenario splits CPU between the topic and its relays with the V8 profiler.
  runtime = await startRuntime(workDir, { inspector: args.profile || only.includes("audience") });
  log(`broker  ${runtime.broker}  (workerd, direct socket)\nceiling ${runtime.ceiling}`);
  const broker = brokerTarget(runtime.broker);
  const ceilingHttp = httpPool(runtime.ceiling, 128);
  const pids = { broker: { server: runtime.serverPids, client: [process.pid] } };

  if (args.profile) {
    section("profiles (V8 sampling profiler, self time)");
    results.profile = await runProfile({ runtime, broker, ceilingHttp, pids: pids.broker, log });
    only.length = 0;
  }

  const installed = args["no-peer"] || args.profile ? { off: true } : detectPeer();
  if (installed.off) {
    log("peer    skipped (--no-peer)");
    results.peer = { skipped: ["--no-peer"] };
  } else if (installed.missing) {
    log(`peer    skipped: ${installed.missing.join(", ")} not available (install: ${PEER_INSTALL})`);
    results.peer = { skipped: installed.missing };
  } else {
    try {
      peer = await startPeer(installed, path.join(workDir, "peer"));
      pids.peer = { server: peer.serverPids, client: [process.pid] };
      log(`peer    ${peer.target.name} (${installed.nginx}, ${installed.module}, ${installed.redis})`);
    } catch (error) {
      log(`peer    skipped: it did not start (${error.message.split("\n")[0]})`);
      results.peer = { skipped: [String(error.message)] };
    }
  }

  if (only.includes("publish")) {
    section("1 + 4. publish throughput, and the ceilings");
    results.publish = await runPublish({ broker, peer, ceilingHttp, mode, pids, log });
  }
  if (only.includes("deliver")) {
    const best = Math.max(
      ...PUBLISH_SHAPES.filter((s) => s.batch === 1).map(
        (s) => results.publish?.broker[s.id]?.median.msgsPerSec ?? 0,
      ),
    );
    const half = Math.round(best / 2 / 10) * 10;
    const rates = [...new Set([...DELIVER_RATES, ...(half > 0 ? [half] : [])])].sort((a, b) => a - b);
    section(`2. publish → deliver, one consumer (rates ${rates.join(", ")} msg/s)`);
    results.deliver = await runDeliver({ rates, broker, peer, ceilingHttp, mode, pids, log });
    results.deliver.halfOfMax = half || null;
  }
  if (only.includes("fanout")) {
    section("3. fan-out at 100 msg/s");
    results.fanout = await runFanout({
      counts: mode.fanoutCounts,
      durableCounts: mode.durableCounts,
      naiveCounts: mode.naiveCounts,
      broker,
      ceiling: broadcastCeilingTarget(runtime.ceiling),
      peer,
      mode: { ...mode, fanoutDurationMs: mode.durationMs },
      pids,
      log,
    });
  }
  if (only.includes("cost")) {
    section("5. cost per message (from the topic's usage counters)");
    results.cost = await runCost({ broker, log });
  }
  if (only.includes("push")) {
    section("6. push to a webhook on loopback (maxInFlight 32)");
    results.push = await runPush({ broker, ceilingHttp, mode, pids: pids.broker, log });
  }
  if (only.includes("route")) {
    section("7. routing: one route with a filter and a transform, beside a plain publish");
    results.route = await runRoute({ broker, mode, pids, log });
  }
  if (only.includes("audience")) {
    section("8. a topic's audience across relays (a relay per 250 sockets)");
    results.audience = await runAudience({
      runtime,
      broker,
      sizes: args.audience ? args.audience.split(",").map(Number) : mode.audienceSizes,
      cpuSockets: 1_000,
      cpuRate: 100,
      perRelay: SOCKETS_PER_RELAY,
      mode,
      pids: pids.broker,
      log,
    });
  }
  if (only.includes("sdk")) {
    section("9. publishing from a client: one socket, and the SDK's batching");
    results.sdk = await runSdk({ origin: runtime.broker, broker, mode, pids: pids.broker, log });
  }
  broker.close();
  ceilingHttp.close();
  peer?.target.close();

  results.finishedAt = new Date().toISOString();
  const tables = render(results);
  log(`\n${tables}`);
  const outDir = path.join(here, "results");
  mkdirSync(outDir, { recursive: true });
  const file = path.join(
    outDir,
    `${startedAt.toISOString().replaceAll(":", "-").slice(0, 19)}-${args.profile ? "profile" : mode.name}.json`,
  );
  writeFileSync(file, `${JSON.stringify({ ...results, tables }, null, 2)}\n`);
  log(
    `\nresults: ${path.relative(process.cwd(), file)} (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)`,
  );
} catch (error) {
  console.error("bench failed:", error);
  if (runtime) console.error(`runtime log: ${runtime.logFile}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
process.exit(process.exitCode ?? 0);

function render(r) {
  const parts = [];
  if (r.publish) {
    parts.push("### 1. Publish throughput\n", publishTable(r.publish, PUBLISH_SHAPES), "");
    parts.push("### 4. Ceilings\n", ceilingTable(r.publish, CEILINGS), "");
  }
  if (r.deliver) parts.push("### 2. Publish → deliver\n", deliverTable(r.deliver), "");
  if (r.fanout) parts.push("### 3. Fan-out\n", fanoutTable(r.fanout), "");
  if (r.cost) parts.push("### 5. Cost\n", costTable(r.cost), "");
  if (r.push) parts.push("### 6. Push to a webhook\n", pushTable(r.push), "");
  if (r.route) parts.push("### 7. Routing\n", routeTable(r.route), "");
  if (r.sdk) parts.push("### 9. Publishing from a client\n", sdkTable(r.sdk), "");
  if (r.audience) parts.push("### 8. Audience across relays\n", audienceTable(r.audience), "");
  if (!r.profile) parts.push("### Targets\n", targets(r));
  return parts.join("\n");
}

function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg(),
  };
}
