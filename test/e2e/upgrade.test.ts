/**
 * Upgrades keep every message: this code, started on the state that each earlier release wrote
 * (test/fixtures/upgrade/<version>/, made by make-fixture.mjs with that release's code over its
 * real HTTP API), finds all of it. Same seqs, ids and bodies; the same subscriptions with the
 * same cursors and counters; leases still held and not delivered early, then delivered again
 * with their attempt number going on; retries and delayed messages due when they were due;
 * idempotency keys still answering `duplicate: true` with the original seq; dead-letter copies
 * present once, and a pending copy made once when there is room.
 *
 * Time: every stored epoch time of the fixture (publish and delivery times, lease expiries, retry
 * due times, idempotency-key expiries, the objects' alarms) is moved by the same amount,
 * now − writtenAt, before the broker opens the state: it is exactly the state as if written just
 * now. A lease that had 30 s left when the fixture was written has 30 s left here, so the test
 * runs the same whenever it runs, and nothing expires for being old.
 */
import { readdirSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { version as CURRENT } from "../../package.json";
import type { WireMessage } from "../../src/protocol/message";
import { SCHEMA_VERSION } from "../../src/topic/migrations";
import { type Broker, removeState, sleep, startBroker } from "./harness";
import {
  compareVersions,
  copyShifted,
  type Fixture,
  fixtures,
  shiftTimes,
  snapshotOf,
} from "./upgrade-state";

/** Longer than every due time the fixtures wait for (30 s), with room for a slow machine. */
/**
 * Stats of the fixtures that later releases count differently, on purpose:
 * - after 0.1.0, a filtered subscription's backlog counts only what its filter lets through
 *   (0.1.0 counted every message after the cursor: 7, where 2 pass `eu-only`'s filter);
 * - after 0.1.0, a message counts as dead-lettered when it runs out of attempts, not when its
 *   copy is made; topic migration 3 counts the copies still waiting then (`blocked`).
 */
const CORRECTIONS: Record<string, Record<string, number>> = {
  "0.1.0/orders/eu-only": { backlog: 2 },
  "0.1.0/orders/blocked": { deadLettered: 1 },
};

const DUE_TIMEOUT_MS = 60_000;

const all = fixtures();

const byName = (list: unknown[]) =>
  (list as { name: string }[]).toSorted((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

test("there is a fixture of state for every release up to this one", () => {
  expect(all.map((f) => f.version)).toContain("0.1.0");
  for (const fixture of all) expect(compareVersions(fixture.version, CURRENT)).toBeLessThanOrEqual(0);
});

describe.each(all)("state written by $version", (fixture: Fixture) => {
  const { manifest } = fixture;
  const { checks } = manifest;
  let broker: Broker;
  /** How far the fixture's times were moved: add it to a time recorded in the manifest. */
  let delta: number;

  beforeAll(async () => {
    delta = Date.now() - manifest.writtenAt;
    broker = await startBroker({ stateDir: copyShifted(fixture, delta) });
  });

  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  const call = async <T>(method: string, url: string, json?: unknown): Promise<T> => {
    const res = await broker.json<T>(url, { method, json });
    if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const pull = async (topic: string, subscription: string, wait = 0) =>
    (
      await call<{ messages: WireMessage[] }>(
        "POST",
        `/v1/topics/${topic}/subscriptions/${subscription}/pull`,
        {
          max: 1000,
          wait,
        },
      )
    ).messages;
  /** Pulls until a message with `seq` arrives (it was due), or fails after DUE_TIMEOUT_MS. */
  const pullUntil = async (topic: string, subscription: string, seq: number) => {
    const deadline = Date.now() + DUE_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const found = (await pull(topic, subscription, 1_000)).find((m) => m.seq === seq);
      if (found) return found;
    }
    throw new Error(`${topic}/${subscription} never delivered seq ${seq}:\n${broker.logs()}`);
  };
  /** The fixture's short-lived state (due within minutes) is waited for; the rest is checked as not due. */
  const isShort = (at: number) => at - manifest.writtenAt < 10 * 60_000;

  /**
   * Answers a later release corrects on purpose, each with the release that corrected it. A
   * count that was wrong is not state to keep: the messages behind it are, and the other tests
   * check them.
   */
  type RecordedSubscription = {
    name: string;
    config: { filter: unknown; deadLetterTopic: string | null };
    stats: { backlog: number; deadLettered: number };
  };
  const correct = (topic: string, subscription: RecordedSubscription) => {
    const fix = CORRECTIONS[`${fixture.version}/${topic}/${subscription.name}`];
    if (fix) Object.assign(subscription.stats, fix);
  };

  test("finds every topic, message and subscription as it was", async () => {
    const expected = shiftTimes(manifest.snapshot, delta);
    const actual = await snapshotOf(broker);
    for (const [name, topic] of Object.entries(expected.byName)) {
      // Sockets do not outlive a restart (their leases do): no consumer is connected now.
      for (const subscription of topic.subscriptions as { stats: { consumers: number } }[]) {
        subscription.stats.consumers = 0;
      }
      // A listing's order is not part of the state: it follows creation until the object restarts.
      topic.subscriptions = byName(topic.subscriptions);
      for (const subscription of topic.subscriptions as RecordedSubscription[]) correct(name, subscription);
      const found = actual.byName[name];
      if (found) found.subscriptions = byName(found.subscriptions);
    }
    // A later release may add fields to its answers; everything that was there must still be.
    expect(actual).toMatchObject(expected);
    expect((await broker.json("/healthz")).body).toEqual({ ok: true, version: CURRENT });
  });

  test("does not deliver leased, retried or delayed messages before they are due", async () => {
    const due = [
      ...checks.leased.map((c) => c.leaseExpiresAt),
      ...checks.retries.map((c) => c.notBefore),
      ...checks.delayed.map((c) => c.deliverAt),
    ].filter(isShort);
    // A precondition, not a measurement: the broker must be up before the first of them is due.
    const late = `the broker took ${broker.startupMs} ms to start, past the fixture's first due time`;
    expect(Date.now(), late).toBeLessThan(Math.min(...due) + delta);
    const waiting = new Map<string, number[]>();
    const add = (topic: string, subscription: string, seqs: number[]) => {
      const key = `${topic}/${subscription}`;
      waiting.set(key, [...(waiting.get(key) ?? []), ...seqs]);
    };
    for (const c of checks.leased) add(c.topic, c.subscription, c.seqs);
    for (const c of checks.retries) add(c.topic, c.subscription, [c.seq]);
    for (const c of checks.delayed) add(c.topic, c.subscription, [c.seq]);
    for (const [key, seqs] of waiting) {
      const [topic, subscription] = key.split("/") as [string, string];
      const delivered = (await pull(topic, subscription)).map((m) => m.seq);
      expect(
        delivered.filter((seq) => seqs.includes(seq)),
        key,
      ).toEqual([]);
    }
  });

  test("goes on with each topic's seqs where the release left them, under its retention", async () => {
    for (const [name, { info }] of Object.entries(manifest.snapshot.byName)) {
      const { config, stats } = info as {
        config: { retention: { maxMessages: number | null }; onFull: string };
        stats: { lastSeq: number; messages: number };
      };
      const res = await broker.json(`/v1/topics/${name}/batch`, {
        method: "POST",
        json: { messages: [{ data: "next" }] },
      });
      // A topic kept full by a subscription that has not acked still refuses rather than drop.
      const full = config.onFull === "reject" && config.retention.maxMessages === stats.messages;
      if (full) expect(res, name).toMatchObject({ status: 507, body: { code: "topic_full" } });
      else expect(res, name).toMatchObject({ status: 201, body: { messages: [{ seq: stats.lastSeq + 1 }] } });
    }
  });

  test("answers a retried idempotency key with the original seq and id", async () => {
    for (const { topic, key, seq, id, batch } of checks.idempotency) {
      const receipt = batch
        ? (
            await call<{ messages: unknown[] }>("POST", `/v1/topics/${topic}/batch`, {
              messages: [{ data: "retried", idempotencyKey: key }],
            })
          ).messages[0]
        : await broker
            .json(`/v1/topics/${topic}/messages`, {
              method: "POST",
              headers: { "content-type": "text/plain", "idempotency-key": key },
              body: "retried",
            })
            .then((res) => res.body);
      expect(receipt, key).toEqual({ seq, id, duplicate: true });
    }
  });

  test("delivers a long-leased message again once nacked, counting its attempts on", async () => {
    for (const { topic, subscription, seqs, attempt, leaseExpiresAt } of checks.leased) {
      if (isShort(leaseExpiresAt)) continue;
      const path = `/v1/topics/${topic}/subscriptions/${subscription}`;
      expect(await call("POST", `${path}/nack`, { seqs, delay: 0 })).toEqual({ nacked: seqs.length });
      const again = (await pull(topic, subscription)).filter((m) => seqs.includes(m.seq));
      expect(again.map((m) => [m.seq, m.attempt])).toEqual(seqs.map((seq) => [seq, attempt + 1]));
    }
  });

  test("keeps an ordered subscription's held messages behind their keys", async () => {
    for (const { topic, subscription, ack, released } of checks.ordered) {
      expect((await pull(topic, subscription)).map((m) => m.seq)).toEqual([]);
      await call("POST", `/v1/topics/${topic}/subscriptions/${subscription}/ack`, { seqs: ack });
      expect((await pull(topic, subscription)).map((m) => m.seq)).toEqual(released);
    }
  });

  test("keeps dead-letter copies once, and makes a pending copy once there is room", async () => {
    for (const { topic, subscription, seq, deadLetterTopic, unblock } of checks.deadLetters) {
      const copies = async () => {
        const { messages } = await call<{ messages: WireMessage[] }>(
          "GET",
          `/v1/topics/${deadLetterTopic}/messages?after=0&limit=1000`,
        );
        return messages.filter(
          (m) =>
            m.attributes["dead-letter.topic"] === topic &&
            m.attributes["dead-letter.subscription"] === subscription &&
            m.attributes["dead-letter.seq"] === String(seq),
        );
      };
      if (unblock) {
        expect(await copies()).toEqual([]);
        const held = await pull(unblock.topic, unblock.subscription);
        await call("POST", `/v1/topics/${unblock.topic}/subscriptions/${unblock.subscription}/ack`, {
          seqs: held.map((m) => m.seq),
        });
        // The topic's alarm retries the copy every 10 s.
        const deadline = Date.now() + DUE_TIMEOUT_MS;
        while ((await copies()).length === 0 && Date.now() < deadline) await sleep(250);
      }
      const found = await copies();
      expect(found, `${topic}/${subscription} seq ${seq} in ${deadLetterTopic}`).toHaveLength(1);
      const { stats } = await call<{ stats: { deadLettered: number } }>(
        "GET",
        `/v1/topics/${topic}/subscriptions/${subscription}`,
      );
      expect(stats.deadLettered).toBe(1);
      // The copy's idempotency key still holds: a repeat of the move would find it, not add one.
      const { epoch } = (manifest.snapshot.byName[topic] as { info: { epoch: string } }).info;
      const res = await broker.json(`/v1/topics/${deadLetterTopic}/messages`, {
        method: "POST",
        headers: {
          "content-type": "text/plain",
          "idempotency-key": `dead-letter/${topic}/${epoch}/${subscription}/${seq}`,
        },
        body: "again",
      });
      expect(res.body).toEqual({ seq: found[0]?.seq, id: found[0]?.id, duplicate: true });
    }
  });

  test("delivers short leases, retries and delayed messages when due, with attempts going on", async () => {
    for (const { topic, subscription, seqs, attempt, leaseExpiresAt } of checks.leased) {
      if (!isShort(leaseExpiresAt)) continue;
      for (const seq of seqs) {
        const message = await pullUntil(topic, subscription, seq);
        expect(message.attempt).toBe(attempt + 1);
        expect(Date.now()).toBeGreaterThanOrEqual(leaseExpiresAt + delta);
      }
    }
    for (const { topic, subscription, seq, attempt, notBefore } of checks.retries) {
      if (!isShort(notBefore)) continue;
      const message = await pullUntil(topic, subscription, seq);
      expect(message.attempt).toBe(attempt);
      expect(Date.now()).toBeGreaterThanOrEqual(notBefore + delta);
    }
    for (const { topic, subscription, seq, deliverAt } of checks.delayed) {
      if (!isShort(deliverAt)) continue;
      const message = await pullUntil(topic, subscription, seq);
      expect(message).toMatchObject({ attempt: 1, deliverAt: deliverAt + delta });
      expect(Date.now()).toBeGreaterThanOrEqual(deliverAt + delta);
    }
  });

  test("leaves every topic's database at this code's schema version", async () => {
    await broker.stop();
    const topics = `${broker.stateDir}/v3/do/edge-broker-Topic`;
    for (const file of readdirSync(topics).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")) {
      const db = new DatabaseSync(`${topics}/${file}`);
      try {
        expect(db.prepare("SELECT version FROM schema_version").get()).toEqual({ version: SCHEMA_VERSION });
      } finally {
        db.close();
      }
    }
  });
});
