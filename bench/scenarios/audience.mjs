/**
 * Scenario 8: a topic's live audience across relays. The bench's runtime hands live tails to
 * relays past 250 sockets a topic (MAX_SOCKETS_PER_RELAY; 5,000 deployed), so:
 *
 * - **largest audience**: N live tails of one topic (most of them on relays), then single
 *   publishes one at a time; each is timed from its publish to every socket (p50 / p99 / max of
 *   all deliveries, and the last socket's time per publish);
 * - **CPU split**: 1,000 tails at 100 msg/s under the V8 profiler, the CPU time of each sample
 *   given to what its stack was doing: the topic storing a message, the topic feeding its own
 *   sockets (`src/topic/push.ts`), the topic sending a batch to a relay (`src/topic/relays.ts`),
 *   or a relay writing to its sockets (`src/edge/`).
 */

import { openLoop } from "../lib/load.mjs";
import { cpuMeter } from "../lib/proc.mjs";
import { cpuProfile, inspectorSession, splitByOwner } from "../lib/profiler.mjs";
import { closeSockets, openSocket, openSockets, waitUntil } from "../lib/sockets.mjs";
import { latencyHistogram } from "../lib/stats.mjs";
import { freshTopic } from "./delivery-phase.mjs";

const fmt = (v) => (typeof v === "number" ? v.toFixed(2) : "–");

/** Publishes timed one at a time to the whole audience. */
const ROUNDS = 20;
/** After the last publish, deliveries still in flight get this long to arrive. */
const DRAIN_MS = 10_000;
const ROUND_WAIT_MS = 15_000;

/**
 * @param {{ runtime: object, broker: object, sizes: number[], cpuSockets: number, cpuRate: number,
 *   perRelay: number, mode: object, pids: object, log: (line: string) => void }} options
 */
export async function runAudience({
  runtime,
  broker,
  sizes,
  cpuSockets,
  cpuRate,
  perRelay,
  mode,
  pids,
  log,
}) {
  const audiences = {};
  for (const size of sizes) {
    audiences[size] = await audiencePhase(broker, size);
    const a = audiences[size];
    log(
      `  ${String(size).padStart(5)} tails on ${a.relays} relays (+${a.direct} on the topic): one publish to all ` +
        `p50 ${a.p50?.toFixed(1)}  p99 ${a.p99?.toFixed(1)}  max ${a.max?.toFixed(1)} ms, last socket p50 ${a.lastP50?.toFixed(1)} ms` +
        (a.missing ? `  missing ${a.missing}` : "") +
        (a.doubled ? `  doubled ${a.doubled}` : ""),
    );
  }
  let cpu = null;
  if (runtime.inspector) {
    cpu = await cpuPhase({ runtime, broker, sockets: cpuSockets, rate: cpuRate, perRelay, mode, log });
  } else {
    log("  CPU split skipped: the runtime has no inspector");
  }
  return { audiences, cpu };
}

async function audiencePhase(broker, size) {
  const topic = freshTopic(`s6-n${size}`);
  await broker.createTopic(topic);
  const latency = latencyHistogram();
  const last = latencyHistogram();
  /** Per publish: when it was sent, and how many sockets got it. */
  const sentAt = new Map();
  const got = new Map();
  let doubled = 0;
  const seen = new Map();
  const onFrame = (text, ws) => {
    const t = performance.now();
    for (const { i } of broker.messagesIn(text)) {
      const from = sentAt.get(i);
      if (from === undefined) continue;
      const mine = seen.get(ws) ?? new Set();
      if (mine.has(i)) doubled++;
      mine.add(i);
      seen.set(ws, mine);
      latency.record(t - from);
      const n = (got.get(i) ?? 0) + 1;
      got.set(i, n);
      if (n === size) last.record(t - from);
    }
  };
  const sockets = await openSockets(size, () =>
    openSocket(broker.tailUrl(topic), { protocols: broker.protocols, readyOnFirstFrame: true, onFrame }),
  );
  let missing = 0;
  let info;
  try {
    info = await broker.info(topic);
    for (let i = 0; i < ROUNDS; i++) {
      sentAt.set(i, performance.now());
      await broker.publish(topic, i);
      await waitUntil(() => (got.get(i) ?? 0) >= size, ROUND_WAIT_MS);
      missing += size - (got.get(i) ?? 0);
    }
  } finally {
    await closeSockets(sockets);
  }
  // Thousands of closes reach the topic (each relay tells it of each): let them land before
  // the next phase is measured, bounded.
  const settled = performance.now() + 120_000;
  while (performance.now() < settled) {
    const now = await broker.info(topic).catch(() => null);
    if (now?.stats?.sockets === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const all = latency.summary();
  const stats = info?.body?.stats ?? info?.stats ?? {};
  return {
    sockets: size,
    relays: stats.relays?.count ?? null,
    direct: stats.relays ? stats.sockets - stats.relays.sockets : null,
    publishes: ROUNDS,
    p50: all.p50,
    p99: all.p99,
    max: all.max,
    lastP50: last.summary().p50,
    lastP99: last.summary().p99,
    missing,
    doubled,
  };
}

/**
 * The CPU split: sockets opened first, then publishes at `rate` under the profiler until every
 * delivery arrived, then the sockets closed — so admission and closes stay out of the profile.
 */
async function cpuPhase({ runtime, broker, sockets: count, rate, perRelay, mode, log }) {
  const topic = freshTopic(`s6-cpu-n${count}`);
  await broker.createTopic(topic);
  let delivered = 0;
  const latency = latencyHistogram();
  const sentAt = new Map();
  const onFrame = (text) => {
    const t = performance.now();
    for (const { i } of broker.messagesIn(text)) {
      const from = sentAt.get(i);
      if (from === undefined) continue;
      latency.record(t - from);
      delivered++;
    }
  };
  const sockets = await openSockets(count, () =>
    openSocket(broker.tailUrl(topic), { protocols: broker.protocols, readyOnFirstFrame: true, onFrame }),
  );
  const session = await inspectorSession(runtime.inspector, "broker");
  let run;
  let profile;
  const started = performance.now();
  const meter = cpuMeter({ server: runtime.serverPids });
  let used;
  try {
    profile = await cpuProfile(session, async () => {
      run = await openLoop({
        rate,
        warmupMs: 0,
        durationMs: mode.warmupMs + mode.durationMs,
        fire: (i, at) => {
          sentAt.set(i, at);
          return broker.publish(topic, i);
        },
      });
      await waitUntil(() => delivered >= run.total * count, DRAIN_MS);
    });
    // The whole runtime process (every object, the worker, native socket writes), as CPU µs.
    used = (meter.stop().server / 100) * (performance.now() - started) * 1000;
  } finally {
    session.close();
    await closeSockets(sockets);
  }
  const owners = ["src/topic/relays.ts", "src/topic/push.ts", "src/edge/", "src/topic/"];
  const split = splitByOwner(profile, runtime.bundle, owners);
  const direct = Math.min(count, perRelay);
  const relayed = count - direct;
  const relays = Math.ceil(relayed / perRelay);
  const published = run.total;
  const per = (us, n) => (n > 0 ? us / n : null);
  const summary = latency.summary();
  const cpu = {
    sockets: count,
    rate,
    published,
    direct,
    relayed,
    relays,
    missing: published * count - delivered,
    p50: summary.p50,
    p99: summary.p99,
    // The topic: storing each message (the publish path), feeding its own sockets, feeding relays.
    topicPublishUsPerMessage: per(split.us["src/topic/"], published),
    topicDirectUsPerDelivery: per(split.us["src/topic/push.ts"], published * direct),
    topicRelayUsPerBatch: per(split.us["src/topic/relays.ts"], published * relays),
    relaysUsPerDelivery: per(split.us["src/edge/"], published * relayed),
    otherUsPerMessage: per(split.us.other, published),
    processUsPerDelivery: per(used, published * count),
    hottest: split.top.map(([what, us]) => [what, Math.round(us)]),
  };
  log(
    `  CPU, ${count} tails (${direct} on the topic, ${relayed} on ${relays} relays) at ${rate} msg/s: ` +
      `topic ${fmt(cpu.topicPublishUsPerMessage)} µs/message to store, ${fmt(cpu.topicDirectUsPerDelivery)} µs per ` +
      `delivery to its own sockets, ${fmt(cpu.topicRelayUsPerBatch)} µs per batch to a relay; relays ` +
      `${fmt(cpu.relaysUsPerDelivery)} µs per delivery; other ${fmt(cpu.otherUsPerMessage)} µs/message; ` +
      `the whole runtime process ${fmt(cpu.processUsPerDelivery)} µs per delivery ` +
      `(p50 ${cpu.p50?.toFixed(1)} p99 ${cpu.p99?.toFixed(1)} ms${cpu.missing ? `, missing ${cpu.missing}` : ""})`,
  );
  for (const [what, us] of cpu.hottest.slice(0, 10))
    log(`    ${(us / 1000).toFixed(0).padStart(6)} ms  ${what}`);
  return cpu;
}
