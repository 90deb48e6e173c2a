/**
 * Scenario 9: the SDK's producer batching. One Node process calls `broker.publish()` for every
 * message at once (as an app handling a burst would) and waits for every receipt: once with
 * batching (the default: one request in flight per topic, the calls that arrive meanwhile leave
 * together as the next batch) and once with `batching: false` (one request per call), side by
 * side on fresh topics, through the built SDK (dist/client) and Node's fetch.
 *
 * Node's fetch opens a connection for every request in flight, and 10,000 at once are refused by
 * the runtime ("other side closed"): the unbatched side therefore goes through a fetch that keeps
 * at most 256 requests open, as an app would have to.
 */

import { Broker } from "../../dist/client/index.js";
import { cpuMeter } from "../lib/proc.mjs";
import { medianOf } from "../lib/stats.mjs";
import { freshTopic } from "./delivery-phase.mjs";

/**
 * @param {{ origin: string, mode: { name: string, reps: number }, pids?: Record<string, number[]>,
 *   log: (line: string) => void }} options
 */
export async function runSdk({ origin, mode, pids, log }) {
  const count = mode.name === "quick" ? 2_000 : 10_000;
  const reps = [];
  for (let rep = 0; rep < mode.reps; rep++) {
    if (mode.reps > 1) log(`  repetition ${rep + 1}/${mode.reps}`);
    const batched = await burst(origin, new Broker({ url: origin }), count, pids);
    const single = await burst(
      origin,
      new Broker({ url: origin, batching: false, fetch: bounded(256) }),
      count,
      pids,
    );
    log(
      `  ${count} concurrent publish(): batched ${batched.perSec} msg/s in ${batched.requests} requests (${batched.cpuUs} µs server CPU/msg), one request each ${single.perSec} msg/s (${single.cpuUs} µs/msg): ${(batched.perSec / single.perSec).toFixed(1)}×`,
    );
    reps.push({
      batchedPerSec: batched.perSec,
      batchedRequests: batched.requests,
      batchedCpuUs: batched.cpuUs,
      singlePerSec: single.perSec,
      singleCpuUs: single.cpuUs,
      ratio: batched.perSec / single.perSec,
    });
  }
  return { messages: count, ...medianOf(reps) };
}

/** A fetch that keeps at most `open` requests in flight; the rest wait their turn. */
function bounded(open) {
  let active = 0;
  const waiting = [];
  return async (input, init) => {
    if (active >= open) await new Promise((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fetch(input, init);
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

async function burst(origin, broker, count, pids) {
  const topic = freshTopic("s9-sdk");
  await broker.publish(topic, { warm: true }, { batch: false });
  const before = await requestsOf(origin, topic);
  const meter = pids ? cpuMeter(pids) : null;
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, (_, i) => broker.publish(topic, { i })));
  const seconds = (performance.now() - started) / 1000;
  const cpu = meter?.stop();
  const requests = (await requestsOf(origin, topic)) - before - 1;
  return {
    perSec: Math.round(count / seconds),
    requests,
    cpuUs: cpu?.server ? Math.round((cpu.server * 10 * seconds * 1000) / count) : null,
  };
}

/** The topic object's request count (its usage; the bench's broker runs with AUTH=off). */
async function requestsOf(origin, topic) {
  const res = await fetch(new URL(`/v1/topics/${topic}`, origin));
  return (await res.json()).usage?.requests ?? Number.NaN;
}

const fmt = (v, digits = 0) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");

/** The scenario's table for docs/benchmarks.md (medians of the repetitions). */
export function sdkTable(r) {
  const m = r.median;
  return [
    `| ${r.messages.toLocaleString("en-US")} concurrent publish() from one process | msg/s | requests to the topic | server CPU µs/msg |`,
    "| --- | --- | --- | --- |",
    `| batched (default) | ${fmt(m.batchedPerSec)} | ${fmt(m.batchedRequests)} | ${fmt(m.batchedCpuUs)} |`,
    `| batching: false | ${fmt(m.singlePerSec)} | ${r.messages.toLocaleString("en-US")} | ${fmt(m.singleCpuUs)} |`,
    `| ratio | ${fmt(m.ratio, 1)}× | | |`,
  ].join("\n");
}
