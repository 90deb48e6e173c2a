/**
 * Scenario 7: what routing costs. One route with a filter (on the JSON body) and a transform
 * (JSONata), from a source topic to a target topic, measured beside a plain publish in the same
 * repetition:
 *
 * - plain publish: the closed loop of scenario 1 (c=16, one 256-byte message per request) to a
 *   topic without routes;
 * - routed publish: the same loop to a topic with the route; what the publishers get, and how
 *   many messages the route forwarded per second over the phase (its `forwarded` counter from the
 *   start of the phase until it has caught up with the last publish);
 * - backlog: messages published (in batches) while the route's target does not exist yet, so
 *   they wait; then the target is created and the route forwards the backlog: forwarded per
 *   second from its first copy to its last, and rows written per forwarded message by the
 *   source (route state) and the target (the copies).
 */
import { closedLoop, now } from "../lib/load.mjs";
import { cpuMeter } from "../lib/proc.mjs";
import { collect, medianOf } from "../lib/stats.mjs";
import { freshTopic } from "./delivery-phase.mjs";

const CONCURRENCY = 16;
const CATCH_UP_MS = 120_000;

/** Passes every benchmark message (each has a numeric `i`): the cost is the route's, not a skip. */
const FILTER = { data: { i: [{ numeric: [">=", 0] }], p: [{ prefix: "x" }] } };
const TRANSFORM = '{"data": {"i": data.i, "size": $length(data.p)}, "attributes": {"routed": "yes"}}';

const route = (to, extra = {}) => ({ name: "bench", to, filter: FILTER, transform: TRANSFORM, ...extra });

async function routeStats(broker, topic) {
  const info = await broker.info(topic);
  return { stats: info.stats.routes[0], usage: info.usage };
}

/** Polls until the route has nothing left to forward; returns when it got there (ms clock). */
async function caughtUp(broker, topic) {
  const deadline = now() + CATCH_UP_MS;
  while (now() < deadline) {
    const { stats } = await routeStats(broker, topic);
    if (stats.lag === 0) return { at: now(), stats };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the route of ${topic} did not catch up within ${CATCH_UP_MS} ms`);
}

async function publishLoop(broker, topic, timing, pids) {
  let next = 0;
  const meter = cpuMeter(pids);
  const result = await closedLoop({
    concurrency: CONCURRENCY,
    ...timing,
    fire: async () => ({ ...(await broker.publish(topic, next++)), messages: 1 }),
  });
  const cpu = meter.stop();
  return { ...result, cpuServer: cpu.server, cpuClient: cpu.client };
}

async function routedPhase(broker, timing, pids) {
  const [source, target] = [freshTopic("s6-src"), freshTopic("s6-dst")];
  await broker.createTopic(target);
  await broker.http.json("PUT", `/v1/topics/${source}`, { routes: [route(target)] });
  const started = now();
  const publish = await publishLoop(broker, source, timing, pids);
  const { at, stats } = await caughtUp(broker, source);
  const seconds = (at - started) / 1000;
  return {
    ...publish,
    forwardedPerSec: stats.forwarded / seconds,
    forwarded: stats.forwarded,
    catchUpMs: at - started,
  };
}

async function backlogPhase(broker, messages) {
  const [source, target] = [freshTopic("s6-src"), freshTopic("s6-dst")];
  // The target does not exist yet: the route retries its first message every 100 ms meanwhile.
  const waiting = route(target, { maxAttempts: 1000, backoff: { min: "100ms", max: "100ms" } });
  await broker.http.json("PUT", `/v1/topics/${source}`, { routes: [waiting] });
  for (let first = 0; first < messages; first += 100) {
    const result = await broker.publishBatch(source, first, Math.min(100, messages - first));
    if (!result.ok) throw new Error(`backlog publish failed: ${result.error}`);
  }
  const before = await routeStats(broker, source);
  await broker.createTopic(target);
  const targetBefore = (await broker.info(target)).usage;
  const started = now();
  // The first copy goes out at the next retry, at most 100 ms later: timed from the first one.
  let first = null;
  while (first === null && now() - started < CATCH_UP_MS) {
    const { stats } = await routeStats(broker, source);
    if (stats.forwarded > 0) first = { at: now(), forwarded: stats.forwarded };
    else await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (first === null) throw new Error("the backlog never started to move");
  const { at, stats } = await caughtUp(broker, source);
  const after = await routeStats(broker, source);
  const targetAfter = (await broker.info(target)).usage;
  const moved = stats.forwarded - first.forwarded;
  const per = (a, b, field) => (a[field] - b[field]) / stats.forwarded;
  return {
    messages,
    forwardedPerSec: moved / ((at - first.at) / 1000),
    sourceRowsWrittenPerMsg: per(after.usage, before.usage, "rowsWritten"),
    targetRowsWrittenPerMsg: per(targetAfter, targetBefore, "rowsWritten"),
  };
}

/** Runs the three phases `reps` times, plain and routed publishes back to back. */
export async function runRoute({ broker, mode, pids, log }) {
  const timing = { warmupMs: mode.warmupMs, durationMs: mode.durationMs };
  const backlog = mode.name === "quick" ? 5_000 : 20_000;
  const raw = {};
  for (let rep = 1; rep <= mode.reps; rep++) {
    const plain = await publishLoop(broker, freshTopic("s6-plain"), timing, pids.broker);
    collect(raw, "plain", plain);
    log(
      `  rep ${rep} plain publish, c=${CONCURRENCY}        ${Math.round(plain.msgsPerSec)} msg/s  p99 ${plain.p99?.toFixed(2)} ms  cpu server ${plain.cpuServer}%`,
    );
    const routed = await routedPhase(broker, timing, pids.broker);
    collect(raw, "routed", routed);
    log(
      `  rep ${rep} publish to a routed topic    ${Math.round(routed.msgsPerSec)} msg/s  p99 ${routed.p99?.toFixed(2)} ms  cpu server ${routed.cpuServer}%, forwarded ${Math.round(routed.forwardedPerSec)} msg/s (caught up after ${Math.round(routed.catchUpMs)} ms)`,
    );
    const drained = await backlogPhase(broker, backlog);
    collect(raw, "backlog", drained);
    log(
      `  rep ${rep} backlog of ${backlog} forwarded   ${Math.round(drained.forwardedPerSec)} msg/s, rows written per message: source ${drained.sourceRowsWrittenPerMsg.toFixed(3)}, target ${drained.targetRowsWrittenPerMsg.toFixed(2)}`,
    );
  }
  return Object.fromEntries(Object.entries(raw).map(([id, reps]) => [id, medianOf(reps)]));
}
