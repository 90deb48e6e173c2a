/**
 * Scenario 3: fan-out. One topic, 100 msg/s of single-message HTTP publishes, delivered to
 * 1, 100 and 1,000 WebSocket subscribers.
 *
 * The subscribers are live-tail sockets (`GET /v1/topics/{t}/ws`): every socket gets every
 * message, nothing to ack, which is what fan-out to many sockets is (a chat room, a dashboard, a
 * price feed) and the same shape as nchan's channel subscribers. The durable alternative, 1,000
 * subscriptions each with its own consumer, is a different workload: every message becomes 1,000
 * leases and 1,000 acks to write, i.e. 1,000 queues rather than one broadcast. It is measured
 * separately, smaller (`durable`: N subscriptions × 1 consumer, acking), so that its cost is
 * visible and not confused with the broadcast.
 *
 * The reference is the fixture's naive broadcast Durable Object (no storage, no per-socket state,
 * one frame per message per socket) driven by the same client: it shows what sending alone costs
 * in this runtime on this machine. It is not an upper bound: the broker's tails read everything
 * after their last position, so a tail that falls behind gets several messages in one frame, and
 * the naive broadcast never batches.
 */
import { collect, medianOf } from "../lib/stats.mjs";
import { deliveryPhase, fmtDelivery, freshTopic } from "./delivery-phase.mjs";

export const FANOUT_RATE = 100;

/**
 * @param {{ counts: number[], durableCounts: number[], naiveCounts: number[], broker: object, ceiling: object,
 *   peer: { target: object } | null, mode: object, pids: { broker: object, peer?: object },
 *   log: (line: string) => void }} options
 */
export async function runFanout({
  counts,
  durableCounts,
  naiveCounts,
  broker,
  ceiling,
  peer,
  mode,
  pids,
  log,
}) {
  const timing = { warmupMs: mode.warmupMs, durationMs: mode.fanoutDurationMs ?? mode.durationMs };
  const raw = { broker: {}, ceiling: {}, peer: {}, durable: {} };
  const rate = FANOUT_RATE;
  for (let rep = 1; rep <= mode.reps; rep++) {
    for (const count of counts) {
      const topic = freshTopic(`s3-n${count}`);
      await broker.createTopic(topic);
      const ours = await deliveryPhase({
        target: broker,
        topic,
        sockets: count,
        url: broker.tailUrl(topic),
        ack: false,
        rate,
        timing,
        pids: pids.broker,
      });
      collect(raw.broker, count, ours);
      log(`  rep ${rep} broker  ${String(count).padStart(5)} tails    ${fmtDelivery(ours)}`);
      // Once: at 1,000 sockets it falls seconds behind, and its drain would cost every repetition.
      if (rep === 1 && naiveCounts.includes(count)) {
        const room = freshTopic(`s3-ceiling-n${count}`);
        const naive = await deliveryPhase({
          target: ceiling,
          topic: room,
          sockets: count,
          url: ceiling.tailUrl(room),
          ack: false,
          rate,
          timing,
          pids: pids.broker,
        });
        collect(raw.ceiling, count, naive);
        log(`  rep ${rep} naive   ${String(count).padStart(5)} sockets  ${fmtDelivery(naive)}`);
      }
      if (peer) {
        const channel = freshTopic(`s3-n${count}`);
        const theirs = await deliveryPhase({
          target: peer.target,
          topic: channel,
          sockets: count,
          url: peer.target.tailUrl(channel),
          ack: false,
          rate,
          timing,
          pids: pids.peer,
        });
        collect(raw.peer, count, theirs);
        log(`  rep ${rep} peer    ${String(count).padStart(5)} subs     ${fmtDelivery(theirs)}`);
      }
    }
    for (const count of durableCounts) {
      const result = await durablePhase(broker, count, rate, timing, pids.broker);
      collect(raw.durable, count, result);
      log(
        `  rep ${rep} broker  ${String(count).padStart(5)} subscriptions × 1 consumer  ${fmtDelivery(result)}`,
      );
    }
  }
  const reduce = (group) => Object.fromEntries(Object.entries(group).map(([n, reps]) => [n, medianOf(reps)]));
  return {
    rate,
    broker: reduce(raw.broker),
    ceiling: reduce(raw.ceiling),
    peer: peer ? reduce(raw.peer) : null,
    durable: reduce(raw.durable),
  };
}

/** `count` subscriptions on one topic, one acking consumer socket each. */
async function durablePhase(broker, count, rate, timing, pids) {
  const topic = freshTopic(`s3-durable-n${count}`);
  for (let k = 0; k < count; k++) await broker.createSubscription(topic, `s${k}`);
  return deliveryPhase({
    target: broker,
    topic,
    sockets: count,
    url: (k) => broker.consumerUrl(topic, `s${k}`),
    ack: true,
    rate,
    timing,
    pids,
  });
}
