/**
 * The two shapes of load:
 *
 * - closed loop: N clients, each sending its next request when the last is answered. This is
 *   how "throughput at concurrency N" is defined; latency is from send to answer.
 * - open loop: requests scheduled at a fixed rate whatever the server does, latency measured from
 *   the *scheduled* send time, so a stall shows up as the queue it causes (no coordinated
 *   omission). The number of requests in flight is capped; a request waiting for a free slot is
 *   still timed from its schedule.
 *
 * Both run a warm-up at the same load first and record nothing during it. Every loop is bounded
 * in time, and in count by its rate or by MAX_REQUESTS.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { latencyHistogram } from "./stats.mjs";

/** No phase sends more than this many requests, whatever the clock says. */
const MAX_REQUESTS = 2_000_000;

export const now = () => performance.now();

/**
 * @param {{
 *   concurrency: number, warmupMs: number, durationMs: number,
 *   fire: () => Promise<{ ok: boolean, messages: number }>,
 * }} options
 */
export async function closedLoop({ concurrency, warmupMs, durationMs, fire }) {
  const latency = latencyHistogram();
  const begin = now();
  const measureFrom = begin + warmupMs;
  const end = measureFrom + durationMs;
  let sent = 0;
  let messages = 0;
  let requests = 0;
  let errors = 0;
  let firstError;

  async function client() {
    while (now() < end && sent < MAX_REQUESTS) {
      sent++;
      const started = now();
      const result = await fire();
      const answered = now();
      if (started < measureFrom || answered > end) continue;
      if (!result.ok) {
        errors++;
        firstError ??= result.error;
        continue;
      }
      latency.record(answered - started);
      requests++;
      messages += result.messages;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = durationMs / 1000;
  return {
    msgsPerSec: messages / seconds,
    requestsPerSec: requests / seconds,
    errors,
    ...(firstError === undefined ? {} : { firstError: String(firstError) }),
    ...latency.summary(),
  };
}

/**
 * Sends `rate` requests a second for `warmupMs + durationMs`. `fire(i, scheduledAt)` sends
 * request `i`; requests with `i >= measuredFrom` are the measured ones (the caller uses the same
 * index to time deliveries). Answers are timed from the schedule.
 *
 * @param {{
 *   rate: number, warmupMs: number, durationMs: number, maxInFlight?: number,
 *   fire: (i: number, scheduledAt: number) => Promise<{ ok: boolean }>,
 * }} options
 */
export async function openLoop({ rate, warmupMs, durationMs, fire, maxInFlight = 1_000 }) {
  const latency = latencyHistogram();
  const lag = latencyHistogram();
  const total = Math.min(MAX_REQUESTS, Math.round((rate * (warmupMs + durationMs)) / 1000));
  const measuredFrom = Math.round((rate * warmupMs) / 1000);
  const interval = 1000 / rate;
  const start = now() + 5;
  const scheduled = (i) => start + i * interval;
  const inFlight = new Set();
  let next = 0;
  let errors = 0;
  let answered = 0;
  let firstError;

  const deadline = scheduled(total) + 60_000;
  while (next < total && now() < deadline) {
    const t = now();
    while (next < total && scheduled(next) <= t && inFlight.size < maxInFlight) {
      const i = next++;
      const at = scheduled(i);
      if (i >= measuredFrom) lag.record(t - at);
      const request = fire(i, at).then((result) => {
        inFlight.delete(request);
        if (i < measuredFrom) return;
        if (!result.ok) {
          errors++;
          firstError ??= result.error;
          return;
        }
        answered++;
        latency.record(now() - at);
      });
      inFlight.add(request);
    }
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    else if (next < total) await sleep(Math.max(0, Math.min(scheduled(next) - now(), 5)));
  }
  await Promise.all(inFlight);
  return {
    total,
    measuredFrom,
    answered,
    errors,
    ...(firstError === undefined ? {} : { firstError: String(firstError) }),
    request: latency.summary(),
    sendLag: lag.summary(),
    scheduled,
  };
}
