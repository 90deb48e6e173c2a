/**
 * Scenario 9: publishing from a client. Two parts, each side by side with its baseline:
 *
 * - pipelined `publish` frames over one WebSocket (a window of 256 unanswered), against
 *   single-message HTTP publishes at 64 concurrent requests, closed loop, on fresh topics;
 * - the SDK's producer batching. One Node process calls `broker.publish()` for every
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
import { closedLoop } from "../lib/load.mjs";
import { cpuMeter } from "../lib/proc.mjs";
import { openSocket } from "../lib/sockets.mjs";
import { medianOf } from "../lib/stats.mjs";
import { payload } from "../lib/targets.mjs";
import { freshTopic } from "./delivery-phase.mjs";

/**
 * @param {{ origin: string, mode: { name: string, reps: number }, pids?: Record<string, number[]>,
 *   log: (line: string) => void }} options
 */
export async function runSdk({ origin, broker, mode, pids, log }) {
  const count = mode.name === "quick" ? 2_000 : 10_000;
  const reps = [];
  for (let rep = 0; rep < mode.reps; rep++) {
    if (mode.reps > 1) log(`  repetition ${rep + 1}/${mode.reps}`);
    const socket = await socketPublishes(broker, mode);
    const http = await closedLoop({
      concurrency: 64,
      warmupMs: mode.warmupMs,
      durationMs: mode.durationMs,
      fire: ((topic, i) => async () => ({ ...(await broker.publish(topic, i++)), messages: 1 }))(
        freshTopic("s9-http"),
        0,
      ),
    });
    log(
      `  one socket, pipelined publish frames: ${Math.round(socket.perSec)} msg/s (${socket.errors} errors); HTTP c=64: ${Math.round(http.msgsPerSec)} msg/s: ${(socket.perSec / http.msgsPerSec).toFixed(1)}×`,
    );
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
      socketPerSec: socket.perSec,
      httpPerSec: http.msgsPerSec,
      socketRatio: socket.perSec / http.msgsPerSec,
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

const WINDOW = 256;

/**
 * Publishes over one live-tail socket for the warm-up and the measured window, keeping WINDOW
 * `publish` frames unanswered; counts the `published` answers that arrive in the window. The
 * socket also receives each message it publishes, as a chat client's would.
 */
async function socketPublishes(broker, mode) {
  const topic = freshTopic("s9-socket");
  await broker.publish(topic, 0);
  let sent = 0;
  let replies = 0;
  let measured = 0;
  let errors = 0;
  let counting = false;
  let done = false;
  let pump = () => {};
  const ws = await openSocket(broker.tailUrl(topic), {
    protocols: broker.protocols,
    readyOnFirstFrame: true,
    onFrame: (text) => {
      const published = text.startsWith('{"type":"published"');
      if (!published && !text.startsWith('{"type":"error"')) return;
      replies++;
      if (!published) errors++;
      else if (counting) measured++;
      pump();
    },
  });
  pump = () => {
    while (!done && sent - replies < WINDOW) {
      ws.send(JSON.stringify({ type: "publish", id: String(sent), data: JSON.parse(payload(sent)) }));
      sent++;
    }
  };
  pump();
  await new Promise((resolve) => setTimeout(resolve, mode.warmupMs));
  counting = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, mode.durationMs));
  const seconds = (performance.now() - started) / 1000;
  counting = false;
  done = true;
  ws.close();
  return { perSec: measured / seconds, errors };
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
    "| one client, single messages | msg/s |",
    "| --- | --- |",
    `| pipelined publish frames over one WebSocket (window ${WINDOW}) | ${fmt(m.socketPerSec)} |`,
    `| HTTP publishes, 64 concurrent | ${fmt(m.httpPerSec)} |`,
    `| ratio | ${fmt(m.socketRatio, 1)}× |`,
    "",
    `| ${r.messages.toLocaleString("en-US")} concurrent publish() from one process | msg/s | requests to the topic | server CPU µs/msg |`,
    "| --- | --- | --- | --- |",
    `| batched (default) | ${fmt(m.batchedPerSec)} | ${fmt(m.batchedRequests)} | ${fmt(m.batchedCpuUs)} |`,
    `| batching: false | ${fmt(m.singlePerSec)} | ${r.messages.toLocaleString("en-US")} | ${fmt(m.singleCpuUs)} |`,
    `| ratio | ${fmt(m.ratio, 1)}× | | |`,
  ].join("\n");
}
