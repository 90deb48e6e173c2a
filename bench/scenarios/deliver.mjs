/**
 * Scenario 2: publish → deliver latency with one WebSocket consumer, at fixed rates (open loop).
 *
 * The broker's consumer is a subscription socket that acks every frame over the socket, so each
 * delivery is a lease that must be settled; nchan has no acks, so its subscriber only receives.
 * The broker is also measured with a live-tail socket (nothing to settle), nchan's shape.
 */
import { openLoop } from "../lib/load.mjs";
import { collect, medianOf } from "../lib/stats.mjs";
import { payload } from "../lib/targets.mjs";
import { deliveryPhase, fmtDelivery, freshTopic } from "./delivery-phase.mjs";

/**
 * The floor under these latencies on this machine at this moment: the ceiling fixture's durable
 * write (Worker → DO → one SQLite insert in a group commit) at the same rate, open loop. A
 * publish cannot be answered, nor delivered, faster than that.
 */
async function floorPhase(ceilingHttp, rate, timing) {
  const name = freshTopic(`s2-floor-r${rate}`);
  const headers = { "content-type": "application/json" };
  const run = await openLoop({
    rate,
    ...timing,
    fire: async (i) => {
      const res = await ceilingHttp.request("POST", `/do/group/${name}`, payload(i), headers);
      return { ok: res.status === 201, error: res.error ?? `HTTP ${res.status}` };
    },
  });
  return { rate, p50: run.request.p50, p99: run.request.p99, p999: run.request.p999, errors: run.errors };
}

/**
 * @param {{ rates: number[], broker: object, peer: { target: object } | null, ceilingHttp: object,
 *   mode: object, pids: { broker: object, peer?: object }, log: (line: string) => void }} options
 */
export async function runDeliver({ rates, broker, peer, ceilingHttp, mode, pids, log }) {
  const timing = { warmupMs: mode.warmupMs, durationMs: mode.durationMs };
  const raw = { broker: {}, tail: {}, peer: {}, floor: {} };
  for (let rep = 1; rep <= mode.reps; rep++) {
    for (const rate of rates) {
      const topic = freshTopic(`s2-r${rate}`);
      await broker.createSubscription(topic, "bench");
      const ours = await deliveryPhase({
        target: broker,
        topic,
        sockets: 1,
        url: broker.consumerUrl(topic, "bench"),
        ack: true,
        rate,
        timing,
        pids: pids.broker,
      });
      collect(raw.broker, rate, ours);
      log(`  rep ${rep} broker  ${String(rate).padStart(5)} msg/s  ${fmtDelivery(ours)}`);
      // The same load to a live-tail socket (no subscription, no leases, no acks): what the
      // consumer's delivery state adds.
      const tailTopic = freshTopic(`s2-tail-r${rate}`);
      await broker.createTopic(tailTopic);
      const tail = await deliveryPhase({
        target: broker,
        topic: tailTopic,
        sockets: 1,
        url: broker.tailUrl(tailTopic),
        ack: false,
        rate,
        timing,
        pids: pids.broker,
      });
      collect(raw.tail, rate, tail);
      log(`  rep ${rep} tail    ${String(rate).padStart(5)} msg/s  ${fmtDelivery(tail)}`);
      const floor = await floorPhase(ceilingHttp, rate, timing);
      collect(raw.floor, rate, floor);
      log(
        `  rep ${rep} floor   ${String(rate).padStart(5)} msg/s  durable DO write: p50 ${floor.p50?.toFixed(2)}  p99 ${floor.p99?.toFixed(2)} ms`,
      );
      if (peer) {
        const channel = freshTopic(`s2-r${rate}`);
        const theirs = await deliveryPhase({
          target: peer.target,
          topic: channel,
          sockets: 1,
          url: peer.target.tailUrl(channel),
          ack: false,
          rate,
          timing,
          pids: pids.peer,
        });
        collect(raw.peer, rate, theirs);
        log(`  rep ${rep} peer    ${String(rate).padStart(5)} msg/s  ${fmtDelivery(theirs)}`);
      }
    }
  }
  const reduce = (group) =>
    Object.fromEntries(Object.entries(group).map(([rate, reps]) => [rate, medianOf(reps)]));
  return {
    rates,
    broker: reduce(raw.broker),
    tail: reduce(raw.tail),
    floor: reduce(raw.floor),
    peer: peer ? reduce(raw.peer) : null,
  };
}
