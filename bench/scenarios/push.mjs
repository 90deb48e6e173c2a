/**
 * Scenario 6: push to a webhook. A real Node receiver on loopback (bench/lib/webhook-receiver.ts)
 * verifies every request with `standardwebhooks` and answers 204.
 *
 * - deliveries/s: a backlog published while the subscription is paused, then resumed, drained
 *   at `maxInFlight` 32: distinct messages acked by the receiver per second, with the server's
 *   CPU per delivery. Twice: a receiver that answers at once, and one that takes 50 ms per
 *   answer, as a webhook handler that does some work would; only the second can show how many
 *   requests the broker keeps open at once (a receiver answering at once has each request
 *   done before the next arrives on this single-threaded server);
 * - publish → webhook latency at a fixed rate (open loop), from the publisher's send to the
 *   receiver's arrival, beside the same run's floor (the ceiling fixture's durable write).
 *
 * Each repetition runs all three on fresh topics; the table shows medians.
 */

import { openLoop } from "../lib/load.mjs";
import { cpuMeter } from "../lib/proc.mjs";
import { latencyHistogram, medianOf } from "../lib/stats.mjs";
import { payload } from "../lib/targets.mjs";
import { startReceiver } from "../lib/webhook-receiver.ts";
import { freshTopic } from "./delivery-phase.mjs";

const MAX_IN_FLIGHT = 32;
const RATE = 200;
const SLOW_ANSWER_MS = 50;
const DRAIN_DEADLINE_MS = 120_000;

/**
 * @param {{ broker: object, ceilingHttp: object, mode: object, pids?: Record<string, number[]>,
 *   log: (line: string) => void }} options
 */
export async function runPush({ broker, ceilingHttp, mode, pids, log }) {
  const count = mode.name === "quick" ? 2_000 : 5_000;
  const reps = [];
  for (let rep = 0; rep < mode.reps; rep++) {
    if (mode.reps > 1) log(`  repetition ${rep + 1}/${mode.reps}`);
    reps.push(await pushOnce({ broker, ceilingHttp, mode, pids, log, count }));
  }
  return {
    messages: count,
    maxInFlight: MAX_IN_FLIGHT,
    rate: RATE,
    slowAnswerMs: SLOW_ANSWER_MS,
    ...medianOf(reps),
  };
}

async function pushOnce({ broker, ceilingHttp, mode, pids, log, count }) {
  const timing = { warmupMs: mode.warmupMs, durationMs: mode.durationMs };
  let secret;
  let delayMs = 0;
  const sentAt = new Map();
  const latency = latencyHistogram();
  let measure = false;
  const receiver = await startReceiver({
    secret: () => secret,
    behave: (d) => {
      const i = d.message.data?.i;
      if (measure && sentAt.has(i)) latency.record(Date.now() - sentAt.get(i));
      return delayMs ? { delayMs } : undefined;
    },
  });
  try {
    const put = async (topic, json) => {
      const res = await broker.http.json("PUT", `/v1/topics/${topic}/subscriptions/hook`, json);
      return res.body ?? res;
    };
    const drain = async (label) => {
      const topic = freshTopic("s6-drain");
      const created = await put(topic, {
        startAt: "earliest",
        paused: true,
        push: { url: receiver.url, maxInFlight: MAX_IN_FLIGHT },
      });
      secret = created.secret;
      for (let first = 0; first < count; first += 1_000) {
        await broker.publishBatch(topic, first, Math.min(1_000, count - first));
      }
      receiver.deliveries.length = 0;
      receiver.stats.maxInFlight = 0;
      const meter = pids ? cpuMeter(pids) : null;
      const started = Date.now();
      await put(topic, { paused: false });
      const seen = new Set();
      while (seen.size < count && Date.now() < started + DRAIN_DEADLINE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const d of receiver.deliveries.splice(0)) seen.add(d.seq);
      }
      const seconds = (Date.now() - started) / 1000;
      const cpu = meter?.stop();
      const perSec = Math.round(seen.size / seconds);
      const cpuUs = cpu?.server ? Math.round((cpu.server * 10 * seconds * 1000) / seen.size) : null;
      log(
        `  drain, ${label}: ${seen.size}/${count} in ${seconds.toFixed(2)} s: ${perSec} deliveries/s, most open at once ${receiver.stats.maxInFlight}${cpuUs ? `, server CPU ${cpuUs} µs/delivery` : ""}`,
      );
      return { delivered: seen.size, perSec, mostOpen: receiver.stats.maxInFlight, cpuUs };
    };

    const fast = await drain("answers at once");
    delayMs = SLOW_ANSWER_MS;
    const slow = await drain(`answers after ${SLOW_ANSWER_MS} ms`);
    delayMs = 0;

    // publish → webhook at a fixed rate
    const live = freshTopic("s6-live");
    secret = (await put(live, { push: { url: receiver.url, maxInFlight: MAX_IN_FLIGHT } })).secret;
    measure = true;
    const run = await openLoop({
      rate: RATE,
      ...timing,
      fire: async (i) => {
        if (i >= Math.round((RATE * timing.warmupMs) / 1000)) sentAt.set(i, Date.now());
        return broker.publish(live, i);
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    measure = false;
    const push = latency.summary();
    const floorTopic = freshTopic("s6-floor");
    const floor = await openLoop({
      rate: RATE,
      ...timing,
      fire: async (i) => {
        const res = await ceilingHttp.request("POST", `/do/group/${floorTopic}`, payload(i), {
          "content-type": "application/json",
        });
        return { ok: res.status === 201, error: res.error ?? `HTTP ${res.status}` };
      },
    });
    log(
      `  latency ${RATE} msg/s: publish → webhook p50 ${push.p50?.toFixed(2)}  p99 ${push.p99?.toFixed(2)} ms (${push.count} measured, ${run.errors} publish errors); floor p50 ${floor.request.p50?.toFixed(2)}  p99 ${floor.request.p99?.toFixed(2)} ms`,
    );
    return {
      fastPerSec: fast.perSec,
      fastMostOpen: fast.mostOpen,
      fastCpuUs: fast.cpuUs,
      slowPerSec: slow.perSec,
      slowMostOpen: slow.mostOpen,
      slowCpuUs: slow.cpuUs,
      delivered: Math.min(fast.delivered, slow.delivered),
      p50: push.p50,
      p99: push.p99,
      measured: push.count,
      publishErrors: run.errors,
      floorP50: floor.request.p50,
      floorP99: floor.request.p99,
      unverified: receiver.stats.unverified,
    };
  } finally {
    await receiver.close();
  }
}

const fmt = (v, digits = 0) => (typeof v === "number" ? v.toFixed(digits) : "–");

/** The scenario's table for docs/benchmarks.md (medians of the repetitions). */
export function pushTable(r) {
  const m = r.median;
  return [
    `| receiver (maxInFlight ${r.maxInFlight}, ${r.messages} messages) | deliveries/s | most open at once | server CPU µs/delivery |`,
    "| --- | --- | --- | --- |",
    `| answers at once | ${fmt(m.fastPerSec)} | ${fmt(m.fastMostOpen)} | ${fmt(m.fastCpuUs)} |`,
    `| answers after ${r.slowAnswerMs} ms | ${fmt(m.slowPerSec)} | ${fmt(m.slowMostOpen)} | ${fmt(m.slowCpuUs)} |`,
    "",
    `| at ${r.rate} msg/s | p50 ms | p99 ms |`,
    "| --- | --- | --- |",
    `| publish → webhook | ${fmt(m.p50, 2)} | ${fmt(m.p99, 2)} |`,
    `| floor (durable DO write) | ${fmt(m.floorP50, 2)} | ${fmt(m.floorP99, 2)} |`,
  ].join("\n");
}
