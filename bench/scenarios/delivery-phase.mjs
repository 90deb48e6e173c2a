/**
 * One publish → deliver phase, shared by scenario 2 (one consumer) and scenario 3 (fan-out):
 * sockets attached to a fresh topic, single-message HTTP publishes at a scheduled rate (open
 * loop), and every delivery timed from the moment its publish was scheduled.
 */
import { openLoop } from "../lib/load.mjs";
import { cpuMeter } from "../lib/proc.mjs";
import { closeSockets, openSocket, openSockets, waitUntil } from "../lib/sockets.mjs";
import { latencyHistogram } from "../lib/stats.mjs";

/** After the last publish, deliveries still in flight get this long to arrive. */
const DRAIN_MS = 10_000;

/**
 * @param {{
 *   target: object, topic: string, sockets: number, url: string | ((k: number) => string), ack: boolean,
 *   rate: number, timing: { warmupMs: number, durationMs: number }, pids: Record<string, number[]>,
 * }} options
 */
export async function deliveryPhase({ target, topic, sockets: count, url, ack, rate, timing, pids }) {
  const latency = latencyHistogram();
  let scheduledAt = new Float64Array(1_024);
  let measuredFrom = Number.POSITIVE_INFINITY;
  let measuredTotal = 0;
  let delivered = 0;
  let unexpected = 0;
  let acked = 0;

  function onFrame(text, ws) {
    const messages = target.messagesIn(text);
    if (messages.length === 0) return;
    const t = performance.now();
    for (const { i } of messages) {
      if (i >= measuredFrom && i < measuredTotal) {
        latency.record(t - scheduledAt[i]);
        delivered++;
      } else if (i >= measuredTotal) {
        unexpected++;
      }
    }
    if (ack) {
      ws.send(target.ackFrame(messages.map((m) => m.seq)));
      acked += messages.length;
    }
  }

  const urlOf = typeof url === "function" ? url : () => url;
  const sockets = await openSockets(count, (k) =>
    openSocket(urlOf(k), {
      protocols: target.protocols,
      readyOnFirstFrame: target.readyOnFirstFrame,
      onFrame,
    }),
  );
  // A subscriber that says nothing on connect (nchan) may not be registered the moment it opens.
  if (!target.readyOnFirstFrame) await new Promise((resolve) => setTimeout(resolve, 200));

  const total = Math.round((rate * (timing.warmupMs + timing.durationMs)) / 1000);
  scheduledAt = new Float64Array(total);
  measuredFrom = Math.round((rate * timing.warmupMs) / 1000);
  measuredTotal = total;
  const expected = (total - measuredFrom) * count;

  const meter = cpuMeter(pids);
  let run;
  try {
    run = await openLoop({
      rate,
      ...timing,
      fire: (i, at) => {
        scheduledAt[i] = at;
        return target.publish(topic, i);
      },
    });
    await waitUntil(() => delivered >= expected, DRAIN_MS);
  } finally {
    await closeSockets(sockets);
  }
  const cpu = meter.stop();
  const seconds = timing.durationMs / 1000;
  const summary = latency.summary();
  return {
    rate,
    sockets: count,
    published: run.answered,
    publishErrors: run.errors,
    ...(run.firstError === undefined ? {} : { firstError: run.firstError }),
    expected,
    delivered,
    missing: expected - delivered,
    unexpected,
    acked,
    deliveriesPerSec: delivered / seconds,
    p50: summary.p50,
    p99: summary.p99,
    p999: summary.p999,
    max: summary.max,
    publishP50: run.request.p50,
    publishP99: run.request.p99,
    sendLagP99: run.sendLag.p99,
    cpuServer: cpu.server,
    cpuClient: cpu.client,
  };
}

export const freshTopic = (prefix) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

export function fmtDelivery(r) {
  const missing = r.missing ? `  missing ${r.missing}/${r.expected}` : "";
  const errors = r.publishErrors ? `  publish errors ${r.publishErrors} (${r.firstError})` : "";
  return (
    `${Math.round(r.deliveriesPerSec)} deliveries/s  p50 ${r.p50?.toFixed(2)}  p99 ${r.p99?.toFixed(2)}  ` +
    `p99.9 ${r.p999?.toFixed(2)} ms  cpu server ${r.cpuServer}% client ${r.cpuClient}%${missing}${errors}`
  );
}
