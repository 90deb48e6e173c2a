/**
 * Routes through a crash: a broker forwarding from one topic to two others is killed with
 * SIGKILL mid-way (publishers still sending, each route 500 messages or more into its work and
 * behind), restarted on the same state, and
 * left to catch up. Every message in the source's log must then be in each target it matches
 * exactly once, in seq order.
 */
import { afterAll, describe, expect, it } from "vitest";
import { BROKER_ATTRIBUTES } from "../../src/protocol/attributes";
import type { WireMessage } from "../../src/protocol/message";
import type { RouteStats } from "../../src/protocol/topic-rpc";
import { type Broker, freshTopic, removeState, sleep, startBroker } from "./harness";

const BATCH = 50;
const PUBLISHERS = 4;

async function readAll(broker: Broker, topic: string): Promise<WireMessage[]> {
  const all: WireMessage[] = [];
  for (let after = 0; ; ) {
    const page = await broker.json<{ messages: WireMessage[]; next: number }>(
      `/v1/topics/${topic}/messages?after=${after}&limit=1000`,
    );
    all.push(...page.body.messages);
    if (page.body.messages.length === 0) return all;
    after = page.body.next;
  }
}

async function routeStats(broker: Broker, topic: string): Promise<RouteStats[]> {
  const info = await broker.json<{ stats: { routes: RouteStats[] } }>(`/v1/topics/${topic}`);
  return info.body.stats.routes;
}

describe("routes across a kill -9", () => {
  let broker: Broker | undefined;

  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  it("put each source message in each target it matches exactly once", async () => {
    broker = await startBroker();
    const [source, even, all] = [freshTopic(), freshTopic(), freshTopic()];
    for (const t of [even, all]) await broker.json(`/v1/topics/${t}`, { method: "PUT", json: {} });
    const put = await broker.json(`/v1/topics/${source}`, {
      method: "PUT",
      json: {
        routes: [
          {
            name: "even",
            to: even,
            filter: { data: { n: [{ numeric: ["<", 1e9] }], even: [true] } },
            transform: '{"data": {"n": data.n}}',
          },
          { name: "all", to: all },
        ],
      },
    });
    expect(put.status).toBe(201);

    // Publishers keep sending until the broker dies under them.
    let next = 0;
    let stop = false;
    const publishers = Array.from({ length: PUBLISHERS }, async () => {
      while (!stop) {
        const first = next;
        next += BATCH;
        const messages = Array.from({ length: BATCH }, (_, i) => ({
          data: { n: first + i, even: (first + i) % 2 === 0 },
        }));
        try {
          await broker?.json(`/v1/topics/${source}/batch`, { method: "POST", json: { messages } });
        } catch {
          return; // the broker is gone
        }
      }
    });
    // Kill it once the routes have forwarded some and are behind.
    let atKill: RouteStats[] = [];
    for (let i = 0; i < 1_500; i++) {
      const stats = await routeStats(broker, source);
      if (stats.every((r) => r.forwarded >= 500 && r.lag > 0)) {
        atKill = stats;
        break;
      }
      await sleep(20);
    }
    expect(
      atKill.map((r) => r.name),
      "the routes never were mid-way",
    ).toEqual(["even", "all"]);
    await broker.kill();
    stop = true;
    await Promise.all(publishers);

    broker = await startBroker({ stateDir: broker.stateDir, port: broker.port });
    const deadline = Date.now() + 60_000;
    while ((await routeStats(broker, source)).some((r) => r.lag > 0)) {
      if (Date.now() > deadline)
        throw new Error(`routes did not catch up: ${JSON.stringify(await routeStats(broker, source))}`);
      await sleep(200);
    }

    const stored = await readAll(broker, source);
    const seqsOf = (copies: WireMessage[]) =>
      copies.map((m) => Number(m.attributes[BROKER_ATTRIBUTES.routeSeq]));
    const evenCopies = await readAll(broker, even);
    const allCopies = await readAll(broker, all);
    const wantedEven = stored.filter((m) => (m.data as { even: boolean }).even).map((m) => m.seq);
    expect(seqsOf(allCopies)).toEqual(stored.map((m) => m.seq));
    expect(seqsOf(evenCopies)).toEqual(wantedEven);
    // The transform kept n and dropped even: each copy carries its source message's n.
    const nOf = new Map(stored.map((m) => [m.seq, (m.data as { n: number }).n]));
    expect(evenCopies.map((m) => (m.data as { n: number }).n)).toEqual(wantedEven.map((seq) => nOf.get(seq)));
    const final = await routeStats(broker, source);
    console.log(
      `routes crash test: ${JSON.stringify({
        stored: stored.length,
        atKill: atKill.map(({ name, forwarded, lag }) => ({ name, forwarded, lag })),
        after: final.map(({ name, forwarded, filtered, failed }) => ({ name, forwarded, filtered, failed })),
      })}`,
    );
  });
});
