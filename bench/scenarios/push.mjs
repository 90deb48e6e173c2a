/**
 * Scenario 6: push to a webhook. A real Node receiver on loopback (bench/lib/webhook-receiver.ts)
 * verifies every request with `standardwebhooks` and answers 204.
 *
 * - deliveries/s: a backlog published while the subscription is paused, then resumed, drained
 *   at `maxInFlight` 32: distinct messages acked by the receiver per second;
 * - publish → webhook latency at a fixed rate (open loop), from the publisher's send to the
 *   receiver's arrival, beside the same run's floor (the ceiling fixture's durable write).
 */

import { openLoop } from "../lib/load.mjs";
import { latencyHistogram } from "../lib/stats.mjs";
import { payload } from "../lib/targets.mjs";
import { startReceiver } from "../lib/webhook-receiver.ts";
import { freshTopic } from "./delivery-phase.mjs";

const MAX_IN_FLIGHT = 32;

/** @param {{ broker: object, ceilingHttp: object, mode: object, log: (line: string) => void }} options */
export async function runPush({ broker, ceilingHttp, mode, log }) {
  const count = mode.name === "quick" ? 2_000 : 10_000;
  const rate = 200;
  const timing = { warmupMs: mode.warmupMs, durationMs: mode.durationMs };
  let secret;
  const sentAt = new Map();
  const latency = latencyHistogram();
  let measure = false;
  const receiver = await startReceiver({
    secret: () => secret,
    behave: (d) => {
      const i = d.message.data?.i;
      if (measure && sentAt.has(i)) latency.record(Date.now() - sentAt.get(i));
      return undefined;
    },
  });
  try {
    const put = (topic, json) => broker.http.json("PUT", `/v1/topics/${topic}/subscriptions/hook`, json);
    // deliveries/s
    const drain = freshTopic("s6-drain");
    const created = await put(drain, {
      startAt: "earliest",
      paused: true,
      push: { url: receiver.url, maxInFlight: MAX_IN_FLIGHT },
    });
    secret = created.body?.secret ?? created.secret;
    for (let first = 0; first < count; first += 1_000) await broker.publishBatch(drain, first, 1_000);
    const started = Date.now();
    await put(drain, { paused: false });
    const deadline = started + 120_000;
    while (new Set(receiver.deliveries.map((d) => d.seq)).size < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (Date.now() - started) / 1000;
    const delivered = new Set(receiver.deliveries.map((d) => d.seq)).size;
    const perSec = Math.round(delivered / seconds);
    log(
      `  drain   ${delivered}/${count} messages in ${seconds.toFixed(2)} s: ${perSec} deliveries/s, most open at once ${receiver.stats.maxInFlight}`,
    );

    // publish → webhook at a fixed rate
    const live = freshTopic("s6-live");
    const second = await put(live, { push: { url: receiver.url, maxInFlight: MAX_IN_FLIGHT } });
    secret = second.body?.secret ?? second.secret;
    measure = true;
    const run = await openLoop({
      rate,
      ...timing,
      fire: async (i) => {
        if (i >= Math.round((rate * timing.warmupMs) / 1000)) sentAt.set(i, Date.now());
        return broker.publish(live, i);
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    measure = false;
    const push = latency.summary();
    const floorTopic = freshTopic("s6-floor");
    const floor = await openLoop({
      rate,
      ...timing,
      fire: async (i) => {
        const res = await ceilingHttp.request("POST", `/do/group/${floorTopic}`, payload(i), {
          "content-type": "application/json",
        });
        return { ok: res.status === 201, error: res.error ?? `HTTP ${res.status}` };
      },
    });
    log(
      `  latency ${rate} msg/s: publish → webhook p50 ${push.p50?.toFixed(2)}  p99 ${push.p99?.toFixed(2)} ms (${push.count} measured, ${run.errors} publish errors); floor p50 ${floor.request.p50?.toFixed(2)}  p99 ${floor.request.p99?.toFixed(2)} ms`,
    );
    return {
      drain: {
        messages: count,
        delivered,
        seconds,
        deliveriesPerSec: perSec,
        maxInFlight: MAX_IN_FLIGHT,
        mostOpen: receiver.stats.maxInFlight,
      },
      latency: { rate, p50: push.p50, p99: push.p99, count: push.count, publishErrors: run.errors },
      floor: { rate, p50: floor.request.p50, p99: floor.request.p99 },
      unverified: receiver.stats.unverified,
    };
  } finally {
    await receiver.close();
  }
}

/** The scenario's table for docs/benchmarks.md. */
export function pushTable(r) {
  return [
    "| measure | value |",
    "| --- | --- |",
    `| deliveries/s, maxInFlight ${r.drain.maxInFlight} (${r.drain.delivered} messages) | ${r.drain.deliveriesPerSec} |`,
    `| most requests open at once at the receiver | ${r.drain.mostOpen} |`,
    `| publish → webhook at ${r.latency.rate} msg/s, p50 / p99 | ${r.latency.p50?.toFixed(2)} / ${r.latency.p99?.toFixed(2)} ms |`,
    `| floor (durable DO write) at ${r.floor.rate} msg/s, p50 / p99 | ${r.floor.p50?.toFixed(2)} / ${r.floor.p99?.toFixed(2)} ms |`,
  ].join("\n");
}
