/**
 * Scenario 1 (publish throughput on one topic) and scenario 4 (ceilings in the same runtime),
 * run interleaved repetition by repetition so that both see the same noise.
 *
 * Closed loop: N clients each publish and wait for the 2xx before the next publish. Throughput is
 * messages answered with a 2xx per second; latency is from send to 2xx.
 */
import { closedLoop } from "../lib/load.mjs";
import { cpuMeter } from "../lib/proc.mjs";
import { collect, medianOf } from "../lib/stats.mjs";
import { payload } from "../lib/targets.mjs";

/** Single-message publishes at three concurrencies, and batches of 100. */
export const PUBLISH_SHAPES = [
  { id: "c1", label: "1 msg/request, c=1", concurrency: 1, batch: 1 },
  { id: "c16", label: "1 msg/request, c=16", concurrency: 16, batch: 1 },
  { id: "c64", label: "1 msg/request, c=64", concurrency: 64, batch: 1 },
  { id: "batch100", label: "100 msgs/request, c=16", concurrency: 16, batch: 100 },
];

/**
 * The ceiling fixture (bench/fixtures/ceiling-worker.js), each step one thing more than the last.
 * The two ceilings are measured at every concurrency of scenario 1; the SQLite steps, which only
 * locate the cost, at c=64.
 */
export const CEILINGS = [
  { id: "noop-worker", label: "no-op Worker", path: () => "/noop", concurrencies: [1, 16, 64] },
  {
    id: "noop-do",
    label: "Worker → no-op DO method",
    path: (name) => `/do/noop/${name}`,
    concurrencies: [1, 16, 64],
  },
  {
    id: "insert-do",
    label: "… + 1 SQLite insert, own txn",
    path: (name) => `/do/insert/${name}`,
    concurrencies: [64],
  },
  {
    id: "group-do",
    label: "… + insert in group commit",
    path: (name) => `/do/group/${name}`,
    concurrencies: [64],
  },
];

/** CPU of the server and of the load generator over the phase, in % of one core. */
function withCpu(result, meter) {
  const cpu = meter.stop();
  return { ...result, cpuServer: cpu.server, cpuClient: cpu.client };
}

const fresh = (prefix) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** One closed-loop phase against a target's publish (single or batch) on a fresh topic. */
async function publishPhase(target, shape, timing, pids) {
  const topic = fresh(`s1-${shape.id}`);
  let next = 0;
  const fire =
    shape.batch === 1
      ? async () => ({ ...(await target.publish(topic, next++)), messages: 1 })
      : async () => {
          const first = next;
          next += shape.batch;
          return { ...(await target.publishBatch(topic, first, shape.batch)), messages: shape.batch };
        };
  const meter = cpuMeter(pids);
  const result = await closedLoop({ concurrency: shape.concurrency, ...timing, fire });
  return withCpu(result, meter);
}

/** One closed-loop phase against a ceiling endpoint; every phase uses a fresh Durable Object. */
async function ceilingPhase(http, ceiling, concurrency, timing, pids) {
  const name = fresh(ceiling.id);
  let next = 0;
  const headers = { "content-type": "application/json" };
  const fire = async () => {
    const res = await http.request("POST", ceiling.path(name), payload(next++), headers);
    return { ok: res.status === 201, error: res.error ?? `HTTP ${res.status}`, messages: 1 };
  };
  const meter = cpuMeter(pids);
  const result = await closedLoop({ concurrency, ...timing, fire });
  return withCpu(result, meter);
}

/**
 * Runs scenario 1 on the broker (and on the peer when given) and scenario 4 on the ceiling
 * fixture, `reps` times, interleaved.
 *
 * @returns {{ broker: Record<string, object>, peer: Record<string, object> | null, ceilings: Record<string, object> }}
 *   each value `{ median, reps }` per shape / ceiling×concurrency id
 */
export async function runPublish({ broker, peer, ceilingHttp, mode, pids, log }) {
  const timing = { warmupMs: mode.warmupMs, durationMs: mode.durationMs };
  const raw = { broker: {}, peer: {}, ceilings: {} };

  for (let rep = 1; rep <= mode.reps; rep++) {
    for (const shape of PUBLISH_SHAPES) {
      const result = await publishPhase(broker, shape, timing, pids.broker);
      collect(raw.broker, shape.id, result);
      log(`  rep ${rep} broker  ${shape.label.padEnd(24)} ${fmtRate(result)}`);
      if (peer && shape.batch === 1) {
        const peerResult = await publishPhase(peer.target, shape, timing, pids.peer);
        collect(raw.peer, shape.id, peerResult);
        log(`  rep ${rep} peer    ${shape.label.padEnd(24)} ${fmtRate(peerResult)}`);
      }
    }
    for (const ceiling of CEILINGS) {
      for (const concurrency of ceiling.concurrencies) {
        const result = await ceilingPhase(ceilingHttp, ceiling, concurrency, timing, pids.broker);
        collect(raw.ceilings, `${ceiling.id}@c${concurrency}`, result);
        log(`  rep ${rep} ceiling ${`${ceiling.label}, c=${concurrency}`.padEnd(34)} ${fmtRate(result)}`);
      }
    }
  }
  const reduce = (group) =>
    Object.fromEntries(Object.entries(group).map(([id, reps]) => [id, medianOf(reps)]));
  return {
    broker: reduce(raw.broker),
    peer: peer ? reduce(raw.peer) : null,
    ceilings: reduce(raw.ceilings),
  };
}

function fmtRate(r) {
  const errors = r.errors ? ` errors=${r.errors} (${r.firstError})` : "";
  return `${Math.round(r.msgsPerSec)} msg/s  p50 ${r.p50?.toFixed(2)} ms  p99 ${r.p99?.toFixed(2)} ms  cpu server ${r.cpuServer}% client ${r.cpuClient}%${errors}`;
}
