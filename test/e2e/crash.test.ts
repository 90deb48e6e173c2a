/**
 * The crash test: a 2xx on publish means the message survives the runtime being killed.
 *
 * Sixteen clients publish with plain fetch while the broker's whole process group is killed with
 * SIGKILL part-way through. The broker restarts on the same state directory, the clients retry
 * what carried an idempotency key and publish the rest, and the log is read back in full.
 *
 * What a kill -9 of the process proves: nothing acknowledged lived only in the runtime's memory
 * (the output gate held each answer until SQLite had the write). It does not simulate power
 * loss: the operating system's page cache survives a process crash.
 */
import { afterAll, describe, expect, test } from "vitest";
import type { WireMessage } from "../../src/protocol/message";
import { type Broker, freshTopic, removeState, startBroker } from "./harness";

const MESSAGES = 3_000;
const CLIENTS = 16;
/** The kill lands once this many publishes have been acknowledged. */
const KILL_AFTER_ACKS = 1_200;
const REQUEST_TIMEOUT_MS = 15_000;

/** What each message carries in its body, so the log can be matched back to the publishes. */
interface Payload {
  i: number;
  key: string | null;
  pad: string;
}

type Outcome =
  | { kind: "acked"; seq: number; duplicate: boolean }
  /** The request was sent and no answer came back: the kill landed while it was in flight. */
  | { kind: "in-flight" }
  | { kind: "rejected"; status: number; body: string };

interface Publish {
  payload: Payload;
  /** Every 10th keyed message is sent twice with the same key. */
  twice: boolean;
  outcomes: Outcome[];
}

function plan(): Publish[] {
  return Array.from({ length: MESSAGES }, (_, i) => {
    const keyed = i % 3 === 0;
    return {
      payload: { i, key: keyed ? `k-${i}` : null, pad: "x".repeat(i % 200) },
      twice: keyed && i % 30 === 0,
      outcomes: [],
    };
  });
}

async function publish(broker: Broker, topic: string, p: Publish): Promise<Outcome> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (p.payload.key !== null) headers["idempotency-key"] = p.payload.key;
  let res: Response;
  try {
    res = await fetch(`${broker.url}/v1/topics/${topic}/messages`, {
      method: "POST",
      headers,
      body: JSON.stringify(p.payload),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch {
    return { kind: "in-flight" };
  }
  const text = await res.text().catch(() => null);
  if (text === null) return { kind: "in-flight" };
  if (res.status !== 201) return { kind: "rejected", status: res.status, body: text };
  const receipt = JSON.parse(text) as { seq: number; duplicate: boolean };
  return { kind: "acked", seq: receipt.seq, duplicate: receipt.duplicate };
}

/**
 * Runs `CLIENTS` workers over the queue of publishes until it is empty or `stop()` says so. Each
 * worker sends one request at a time, like a client awaiting its answer before the next publish.
 */
async function runClients(
  broker: Broker,
  topic: string,
  queue: Publish[],
  stop: () => boolean,
  onAck: () => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < queue.length && !stop()) {
      const p = queue[next++] as Publish;
      const sends = p.twice ? 2 : 1;
      for (let s = 0; s < sends && !stop(); s++) {
        const outcome = await publish(broker, topic, p);
        p.outcomes.push(outcome);
        if (outcome.kind === "acked") onAck();
        if (outcome.kind === "in-flight") return;
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
}

async function readLog(broker: Broker, topic: string): Promise<WireMessage[]> {
  const all: WireMessage[] = [];
  let after = 0;
  for (let page = 0; page < MESSAGES; page++) {
    const res = await broker.json<{ messages: WireMessage[]; next: number }>(
      `/v1/topics/${topic}/messages?after=${after}&limit=1000`,
    );
    expect(res.status).toBe(200);
    if (res.body.messages.length === 0) return all;
    all.push(...res.body.messages);
    after = res.body.next;
  }
  throw new Error("the log did not end");
}

describe("a broker killed with SIGKILL mid-stream", () => {
  let broker: Broker | undefined;

  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  test("keeps every acknowledged publish, at its seq, gap-free, with each idempotency key once", async () => {
    const topic = freshTopic();
    const publishes = plan();
    const started = performance.now();
    broker = await startBroker();
    const firstStartupMs = broker.startupMs;

    // Phase 1: publish until the kill.
    let acked = 0;
    let crashed = false;
    let killing: Promise<void> | undefined;
    const first = broker;
    await runClients(
      first,
      topic,
      publishes,
      () => crashed,
      () => {
        acked++;
        if (acked >= KILL_AFTER_ACKS && !crashed) {
          crashed = true;
          killing = first.kill();
        }
      },
    );
    await killing;
    expect(crashed).toBe(true);
    const phase1Ms = performance.now() - started - firstStartupMs;
    const inFlight = publishes.filter((p) => p.outcomes.some((o) => o.kind === "in-flight"));

    // Phase 2: restart on the same state; retry what had a key, publish what was never sent.
    broker = await startBroker({ stateDir: first.stateDir, port: first.port });
    const retries = inFlight.filter((p) => p.payload.key !== null);
    const unsent = publishes.filter((p) => p.outcomes.length === 0);
    for (const p of retries) p.twice = false;
    await runClients(
      broker,
      topic,
      [...retries, ...unsent],
      () => false,
      () => {},
    );

    const rejected = publishes.flatMap((p) => p.outcomes.filter((o) => o.kind === "rejected"));
    expect(rejected).toEqual([]);
    expect(
      publishes.filter((p) => p.outcomes.at(-1)?.kind === "in-flight" && p.payload.key !== null),
    ).toEqual([]);

    // The log, read back in full.
    const log = await readLog(broker, topic);
    const seqs = log.map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: log.length }, (_, n) => n + 1));

    const bySeq = new Map(log.map((m) => [m.seq, m]));
    const timesInLog = new Map<number, number>();
    for (const m of log) {
      const payload = m.data as Payload;
      timesInLog.set(payload.i, (timesInLog.get(payload.i) ?? 0) + 1);
    }

    let lost = 0;
    let duplicatesAnswered = 0;
    for (const p of publishes) {
      const acks = p.outcomes.filter((o) => o.kind === "acked");
      const times = timesInLog.get(p.payload.i) ?? 0;
      // Nothing is stored twice: a key dedups its retries, and keyless publishes were sent once.
      expect(times, `message ${p.payload.i} stored ${times} times`).toBeLessThanOrEqual(1);
      if (acks.length === 0) continue;
      const seqsAnswered = new Set(acks.map((a) => a.seq));
      expect(seqsAnswered.size, `message ${p.payload.i} answered with different seqs`).toBe(1);
      duplicatesAnswered += acks.filter((a) => a.duplicate).length;
      const seq = acks[0]?.seq as number;
      const stored = bySeq.get(seq);
      if (stored === undefined || (stored.data as Payload).i !== p.payload.i) {
        lost++;
        continue;
      }
      expect(stored.data).toEqual(p.payload);
      expect(stored.contentType).toBe("application/json");
    }
    expect(lost).toBe(0);

    const keyed = publishes.filter((p) => p.payload.key !== null);
    expect(keyed.every((p) => timesInLog.get(p.payload.i) === 1)).toBe(true);
    // A message sent twice with the same key is answered with the original seq and duplicate: true.
    const ackedTwice = publishes
      .map((p) => p.outcomes.flatMap((o) => (o.kind === "acked" ? [o.duplicate] : [])))
      .filter((duplicates) => duplicates.length === 2);
    expect(ackedTwice.length).toBeGreaterThan(0);
    for (const duplicates of ackedTwice) expect(duplicates).toEqual([false, true]);

    const keylessInFlight = inFlight.filter((p) => p.payload.key === null);
    const retriedDuplicates = retries.filter((p) => {
      const last = p.outcomes.at(-1);
      return last?.kind === "acked" && last.duplicate;
    }).length;
    const figures = {
      messages: MESSAGES,
      clients: CLIENTS,
      ackedBeforeKill: acked,
      phase1PublishesPerSecond: Math.round(acked / (phase1Ms / 1000)),
      inFlightAtCrash: inFlight.length,
      inFlightWithKey: retries.length,
      inFlightWithKeyCommittedBeforeCrash: retriedDuplicates,
      inFlightWithoutKey: keylessInFlight.length,
      inFlightWithoutKeyCommitted: keylessInFlight.filter((p) => timesInLog.has(p.payload.i)).length,
      duplicatesAnswered,
      logLength: log.length,
      lastSeq: seqs.at(-1),
      lost,
      startupMs: firstStartupMs,
      restartMs: broker.startupMs,
      totalMs: Math.round(performance.now() - started),
    };
    console.log(`crash test: ${JSON.stringify(figures)}`);
    expect(inFlight.length).toBeGreaterThan(0);
  });
});
