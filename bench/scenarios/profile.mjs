/**
 * `--profile`: where the CPU goes, from V8 CPU profiles of the workers' isolate taken while the
 * broker runs the scenarios that miss their targets, and while the no-op DO ceiling runs, for
 * comparison. Prints the self time of each source area and of the hottest functions.
 */
import { closedLoop } from "../lib/load.mjs";
import { cpuProfile, inspectorSession, summarize } from "../lib/profiler.mjs";
import { payload } from "../lib/targets.mjs";
import { deliveryPhase, freshTopic } from "./delivery-phase.mjs";

const PROFILE_MS = 4_000;

export async function runProfile({ runtime, broker, ceilingHttp, pids, log }) {
  const brokerSession = await inspectorSession(runtime.inspector, "broker");
  const ceilingSession = await inspectorSession(runtime.inspector, "ceiling");
  const timing = { warmupMs: 1_000, durationMs: PROFILE_MS };
  const cases = [
    {
      id: "publish-c64",
      label: "broker: single-message publish, c=64",
      session: brokerSession,
      run: async () => {
        const topic = freshTopic("p-publish");
        let i = 0;
        await closedLoop({
          concurrency: 64,
          ...timing,
          fire: async () => ({ ...(await broker.publish(topic, i++)), messages: 1 }),
        });
      },
    },
    {
      id: "batch100-c16",
      label: "broker: batches of 100, c=16",
      session: brokerSession,
      run: async () => {
        const topic = freshTopic("p-batch");
        let i = 0;
        await closedLoop({
          concurrency: 16,
          ...timing,
          fire: async () => {
            const first = i;
            i += 100;
            return { ...(await broker.publishBatch(topic, first, 100)), messages: 100 };
          },
        });
      },
    },
    {
      id: "noop-do-c64",
      label: "ceiling: Worker → no-op DO method, c=64",
      session: ceilingSession,
      run: async () => {
        const name = freshTopic("p-noop");
        let i = 0;
        await closedLoop({
          concurrency: 64,
          ...timing,
          fire: async () => {
            const res = await ceilingHttp.request("POST", `/do/noop/${name}`, payload(i++), {
              "content-type": "application/json",
            });
            return { ok: res.status === 201, messages: 1 };
          },
        });
      },
    },
    {
      id: "deliver-500",
      label: "broker: publish → deliver, 1 consumer acking, 500 msg/s",
      session: brokerSession,
      run: async () => {
        const topic = freshTopic("p-deliver");
        await broker.createSubscription(topic, "bench");
        const url = broker.consumerUrl(topic, "bench");
        await deliveryPhase({ target: broker, topic, sockets: 1, url, ack: true, rate: 500, timing, pids });
      },
    },
    {
      id: "fanout-1000",
      label: "broker: fan-out to 1,000 live-tail sockets, 100 msg/s",
      session: brokerSession,
      run: async () => {
        const topic = freshTopic("p-fanout");
        await broker.createTopic(topic);
        const url = broker.tailUrl(topic);
        await deliveryPhase({
          target: broker,
          topic,
          sockets: 1_000,
          url,
          ack: false,
          rate: 100,
          timing,
          pids,
        });
      },
    },
  ];
  const results = {};
  for (const c of cases) {
    const profile = await cpuProfile(c.session, c.run);
    const summary = summarize(profile, c.session === brokerSession ? runtime.bundle : runtime.ceilingScript);
    results[c.id] = { label: c.label, ...summary };
    log(`\n-- ${c.label} (${summary.samples} samples)`);
    log("   self time by area:");
    for (const [name, share] of summary.areas.slice(0, 12))
      log(`     ${share.toFixed(1).padStart(5)}%  ${name}`);
    log("   hottest functions:");
    for (const [name, share] of summary.functions.slice(0, 15))
      log(`     ${share.toFixed(1).padStart(5)}%  ${name}`);
  }
  brokerSession.close();
  ceilingSession.close();
  return results;
}
