/**
 * The pace of push, inside the object: the real `Webhooks` over the object's own SQLite, with a
 * transport whose answers the test gives by hand (the one seam: no network in the worker
 * project). Answers that arrive together are settled in one transaction and the slots they free
 * are leased again in one round — one lease row — never past `maxInFlight`; a failure among
 * them nacks its own message only.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SubscriptionInfo } from "../../src/protocol/topic-rpc";
import { Changes } from "../../src/topic/changes";
import { TopicStore } from "../../src/topic/store";
import type { Topic } from "../../src/topic/topic";
import { Webhooks } from "../../src/topic/webhooks";
import { freshTopic, topicStub } from "./helpers";
import { call, expectJson } from "./http-support";

const MAX_IN_FLIGHT = 8;

interface Held {
  request: Request;
  answer: (response: Response) => void;
}

/** A paused push subscription with `count` messages waiting (its own pump sends nothing). */
async function pausedPush(topic: string, count: number): Promise<void> {
  await expectJson<SubscriptionInfo>(
    await call("PUT", `/v1/topics/${topic}/subscriptions/hook`, {
      json: {
        startAt: "earliest",
        paused: true,
        backoff: { min: "1m", max: "1m" },
        push: { url: "https://hooks.example.com/in", maxInFlight: MAX_IN_FLIGHT },
      },
    }),
    201,
  );
  const messages = Array.from({ length: count }, (_, i) => ({ data: { i } }));
  await expectJson(await call("POST", `/v1/topics/${topic}/batch`, { json: { messages } }), 201);
}

/**
 * Runs `fn` inside the topic's object with a `Webhooks` of its own over the object's storage,
 * the subscription resumed there, and every request held until the test answers it.
 */
function withHeldPushes(
  topic: string,
  fn: (parts: { store: TopicStore; webhooks: Webhooks; held: Held[] }) => Promise<void>,
): Promise<void> {
  return runInDurableObject(topicStub(topic), async (_instance: Topic, state) => {
    const store = new TopicStore(state.storage);
    const held: Held[] = [];
    const changes = new Changes(store, { wake() {}, push: () => webhooks.pump(), arm() {} });
    const webhooks = new Webhooks({
      topic,
      store,
      state: store.pushState,
      changes,
      transport: (_push, request) => new Promise((answer) => held.push({ request, answer })),
      allowPrivate: false,
      keepAlive: () => {},
    });
    changes.apply(() => {
      const subscription = store.subscriptions.get("hook");
      if (subscription) store.subscriptions.configure(subscription, { paused: false });
    });
    await fn({ store, webhooks, held });
  });
}

/** Waits, a bounded number of turns, until `check` holds (the clock only moves across I/O). */
async function turnsUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

const leaseSizes = (store: TopicStore) =>
  store.sql
    .all<{ n: number }>("SELECT json_array_length(seqs) AS n FROM leases ORDER BY id")
    .map((row) => row.n);

describe("push rounds", () => {
  it("settles answers that arrive together in one go, and refills the freed slots in one lease", async () => {
    const topic = freshTopic("rounds");
    await pausedPush(topic, 21);
    await withHeldPushes(topic, async ({ store, held }) => {
      await turnsUntil(() => held.length === MAX_IN_FLIGHT);
      expect(leaseSizes(store)).toEqual([MAX_IN_FLIGHT]);

      // Five answers in one turn: one settlement, then one round of five new requests.
      const answered = held.splice(0, 5);
      for (const h of answered) h.answer(new Response(null, { status: 204 }));
      await turnsUntil(() => held.length === MAX_IN_FLIGHT);
      expect(leaseSizes(store)).toEqual([3, 5]);
      expect(store.subscriptions.get("hook")?.counters).toMatchObject({ acked: 5, delivered: 13 });
      const bodies = await Promise.all(held.map((h) => h.request.clone().json() as Promise<{ seq: number }>));
      expect(bodies.map((b) => b.seq).sort((a, b) => a - b)).toEqual([6, 7, 8, 9, 10, 11, 12, 13]);
      for (const h of held.splice(0)) h.answer(new Response(null, { status: 204 }));
      await turnsUntil(() => held.length === MAX_IN_FLIGHT);
      expect(leaseSizes(store)).toEqual([MAX_IN_FLIGHT]);
      for (const h of held.splice(0)) h.answer(new Response(null, { status: 204 }));
      await turnsUntil(() => store.subscriptions.get("hook")?.counters.acked === 21);
      expect(leaseSizes(store)).toEqual([]);
    });
  });

  it("nacks only the message whose answer failed, among answers settled together", async () => {
    const topic = freshTopic("rounds-fail");
    await pausedPush(topic, MAX_IN_FLIGHT);
    await withHeldPushes(topic, async ({ store, held }) => {
      await turnsUntil(() => held.length === MAX_IN_FLIGHT);
      const bySeq = new Map<number, Held>();
      for (const h of held) bySeq.set(((await h.request.clone().json()) as { seq: number }).seq, h);
      for (const [seq, h] of bySeq) h.answer(new Response(null, { status: seq === 3 ? 500 : 204 }));
      await turnsUntil(() => leaseSizes(store).length === 0);
      expect(store.subscriptions.get("hook")?.counters).toMatchObject({ acked: MAX_IN_FLIGHT - 1 });
      const retries = store.sql.all<{ seq: number; attempts: number }>(
        "SELECT seq, attempts FROM retries WHERE subscription = 'hook'",
      );
      expect(retries).toEqual([{ seq: 3, attempts: 1 }]);
      expect(store.pushState.health("hook")).toMatchObject({ lastError: "HTTP 500" });
    });
  });
});
