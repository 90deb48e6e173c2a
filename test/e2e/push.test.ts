/**
 * Push subscriptions against real broker processes and a real Node HTTP receiver that verifies
 * every request with `standardwebhooks` (bench/lib/webhook-receiver.ts): every message arrives
 * and is acked across a receiver that is down, answers 500s, answers too slowly, answers 429
 * with `Retry-After`, and across `kill -9` of the broker mid-push; a duplicate is only a
 * redelivery under the same `webhook-id`; `maxAttempts` leads to exactly one dead-letter copy;
 * the receiver never has more than `maxInFlight` requests at once. Then the SSRF table: each
 * refused receiver gets `400 invalid_push_endpoint` at PUT and is never fetched.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Answer, type Delivery, startReceiver } from "../../bench/lib/webhook-receiver";
import type { WireMessage } from "../../src/protocol/message";
import type { SubscriptionInfo } from "../../src/protocol/topic-rpc";
import { type Broker, freshTopic, removeState, sleep, startBroker } from "./harness";

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.stop();
  if (broker) await removeState(broker);
});

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`${what} did not happen within ${ms} ms`);
}

const stats = async (b: Broker, topic: string, sub: string) =>
  (await b.json<SubscriptionInfo>(`/v1/topics/${topic}/subscriptions/${sub}`)).body.stats;

async function publishAll(b: Broker, topic: string, count: number, key?: (i: number) => string) {
  const messages = Array.from({ length: count }, (_, i) => ({
    data: { i },
    ...(key ? { key: key(i) } : {}),
  }));
  const res = await b.json(`/v1/topics/${topic}/batch`, { method: "POST", json: { messages } });
  expect(res.status).toBe(201);
}

/** Every delivery answered 2xx is a different message, or the same one again under its webhook-id. */
function expectOnlyRedeliveries(deliveries: Delivery[]) {
  const idBySeq = new Map<number, string>();
  for (const d of deliveries) {
    const id = idBySeq.get(d.seq) ?? d.id;
    expect(d.id).toBe(id);
    idBySeq.set(d.seq, id);
  }
}

describe("push to a webhook", () => {
  it("delivers every message through a receiver that is down, fails, is slow and throttles", async () => {
    const topic = freshTopic();
    let secret: string | undefined;
    const started = Date.now();
    let n = 0;
    const receiver = await startReceiver({
      secret: () => secret,
      behave: (): Answer | undefined => {
        n++;
        const t = Date.now() - started;
        if (t < 1_500) return { destroy: true }; // down
        if (n % 7 === 0) return { status: 500 };
        if (n % 11 === 0) return { delayMs: 1_500 }; // longer than the 1 s timeout
        if (n % 13 === 0) return { status: 429, headers: { "retry-after": "1" } };
        return { delayMs: 20 };
      },
    });
    try {
      const put = await broker.json<SubscriptionInfo & { secret: string }>(
        `/v1/topics/${topic}/subscriptions/hook`,
        {
          method: "PUT",
          json: {
            ordered: true,
            backoff: { min: "50ms", max: "500ms" },
            push: { url: receiver.url, timeout: "1s", maxInFlight: 4 },
          },
        },
      );
      expect(put.status).toBe(201);
      secret = put.body.secret;
      await publishAll(broker, topic, 60, (i) => `k${i % 6}`);
      await until(async () => (await stats(broker, topic, "hook")).acked === 60, 90_000, "60 acks");
      const seqs = new Set(receiver.deliveries.map((d) => d.seq));
      expect(seqs.size).toBe(60);
      expect(receiver.stats.unverified).toBe(0);
      expect(receiver.stats.maxInFlight).toBeLessThanOrEqual(4);
      expectOnlyRedeliveries(receiver.deliveries);
      // Ordered: per key, the messages were acked in seq order.
      const byKey = new Map<string, number[]>();
      for (const d of receiver.deliveries) byKey.set(d.key ?? "", [...(byKey.get(d.key ?? "") ?? []), d.seq]);
      for (const acked of byKey.values()) expect(acked).toEqual([...acked].sort((a, b) => a - b));
      const after = await stats(broker, topic, "hook");
      expect(after).toMatchObject({ backlog: 0, inFlight: 0, push: { consecutiveFailures: 0 } });
      expect(after.redelivered).toBeGreaterThan(0);
    } finally {
      await receiver.close();
    }
  });

  it("dead-letters a message after maxAttempts, exactly one copy", async () => {
    const topic = freshTopic();
    let secret: string | undefined;
    const receiver = await startReceiver({
      secret: () => secret,
      behave: (d) => ((d.message.data as { poison?: boolean }).poison ? { status: 500 } : undefined),
    });
    try {
      const put = await broker.json<{ secret: string }>(`/v1/topics/${topic}/subscriptions/hook`, {
        method: "PUT",
        json: {
          maxAttempts: 3,
          deadLetterTopic: `${topic}.dead`,
          backoff: { min: "50ms", max: "100ms" },
          push: { url: receiver.url, timeout: "1s" },
        },
      });
      secret = put.body.secret;
      const messages = [{ data: { ok: 1 } }, { data: { poison: true } }, { data: { ok: 2 } }];
      await broker.json(`/v1/topics/${topic}/batch`, { method: "POST", json: { messages } });
      await until(
        async () => (await stats(broker, topic, "hook")).deadLettered === 1,
        30_000,
        "a dead letter",
      );
      await until(async () => (await stats(broker, topic, "hook")).backlog === 0, 30_000, "an empty backlog");
      await sleep(500);
      const dead = await broker.json<{ messages: WireMessage[] }>(
        `/v1/topics/${topic}.dead/messages?after=0`,
      );
      expect(dead.body.messages).toHaveLength(1);
      expect(dead.body.messages[0]).toMatchObject({
        data: { poison: true },
        attributes: { "dead-letter.seq": "2" },
      });
      expect(receiver.deliveries.map((d) => d.seq).sort()).toEqual([1, 3]);
      const after = await stats(broker, topic, "hook");
      expect(after.push).toMatchObject({ lastStatus: expect.any(Number) });
    } finally {
      await receiver.close();
    }
  });

  it("loses nothing across kill -9 of the broker in the middle of pushing", async () => {
    const crashing = await startBroker();
    const topic = freshTopic();
    let secret: string | undefined;
    const receiver = await startReceiver({ secret: () => secret, behave: () => ({ delayMs: 100 }) });
    let restarted: Broker | undefined;
    try {
      const put = await crashing.json<{ secret: string }>(`/v1/topics/${topic}/subscriptions/hook`, {
        method: "PUT",
        json: {
          backoff: { min: "100ms", max: "1s" },
          push: { url: receiver.url, timeout: "2s", maxInFlight: 4 },
        },
      });
      secret = put.body.secret;
      await publishAll(crashing, topic, 80);
      await until(() => receiver.deliveries.length >= 15, 30_000, "15 deliveries");
      await crashing.kill();
      const before = receiver.deliveries.length;
      restarted = await startBroker({ stateDir: crashing.stateDir, port: crashing.port });
      // Nothing wakes the topic but its alarm: the leases of the dead process run out and come back.
      await until(
        async () => (await stats(restarted as Broker, topic, "hook")).acked === 80,
        90_000,
        "80 acks",
      );
      expect(new Set(receiver.deliveries.map((d) => d.seq)).size).toBe(80);
      expect(receiver.deliveries.length).toBeGreaterThanOrEqual(80);
      expect(before).toBeLessThan(80);
      expect(receiver.stats.maxInFlight).toBeLessThanOrEqual(4);
      expectOnlyRedeliveries(receiver.deliveries);
    } finally {
      await receiver.close();
      await (restarted ?? crashing).stop();
      await removeState(crashing);
    }
  });

  it("records a redirect as a failure and never follows it", async () => {
    const topic = freshTopic();
    let secret: string | undefined;
    const target = await startReceiver({ secret: () => secret });
    const receiver = await startReceiver({
      secret: () => secret,
      behave: () => ({ status: 302, headers: { location: target.url } }),
    });
    try {
      const put = await broker.json<{ secret: string }>(`/v1/topics/${topic}/subscriptions/hook`, {
        method: "PUT",
        json: { backoff: { min: "1s", max: "5s" }, push: { url: receiver.url } },
      });
      secret = put.body.secret;
      await broker.json(`/v1/topics/${topic}/messages`, { method: "POST", json: { go: 1 } });
      await until(
        async () => ((await stats(broker, topic, "hook")).push?.consecutiveFailures ?? 0) > 0,
        20_000,
        "a failure",
      );
      const after = await stats(broker, topic, "hook");
      expect(after.push).toMatchObject({ lastStatus: 302, lastError: expect.stringMatching(/redirect/) });
      expect(target.stats.requests).toBe(0);
    } finally {
      await receiver.close();
      await target.close();
    }
  });
});

describe("receivers the broker refuses (SSRF)", () => {
  const REFUSED = [
    "http://hooks.example.com/", // http: in production
    "https://127.0.0.1/",
    "https://2130706433/", // 127.0.0.1 in decimal
    "https://017700000001/", // in octal
    "https://0x7f.0.0.1/", // in hex
    "https://127.1/", // short form
    "https://10.0.0.8/",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/", // link-local: the metadata service
    "https://100.64.0.1/",
    "https://0.0.0.0/",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[fd00::1]/",
    "https://[fe80::1]/",
    "https://localhost/",
    "https://api.localhost/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://printer.local/",
    "https://intranet/",
    "https://user:pass@hooks.example.com/",
    "ftp://hooks.example.com/",
    "not a url",
  ];

  it("refuses each at PUT with 400 invalid_push_endpoint, writing nothing", async () => {
    const production = await startBroker({ vars: { PUSH_ALLOW_PRIVATE: "false" } });
    try {
      const topic = freshTopic();
      const own = `http://127.0.0.1:${production.port}/v1/topics`;
      for (const url of [...REFUSED, own]) {
        const res = await production.json<{ code: string; detail: string }>(
          `/v1/topics/${topic}/subscriptions/s`,
          {
            method: "PUT",
            json: { push: { url } },
          },
        );
        expect({ url, status: res.status, code: res.body.code }).toEqual({
          url,
          status: 400,
          code: "invalid_push_endpoint",
        });
      }
      expect((await production.json(`/v1/topics/${topic}`)).status).toBe(404);
    } finally {
      await production.stop();
      await removeState(production);
    }
  });

  it("with PUSH_ALLOW_PRIVATE still refuses the broker itself and the metadata address", async () => {
    const topic = freshTopic();
    for (const url of [`http://127.0.0.1:${broker.port}/v1/topics`, "http://169.254.169.254/"]) {
      const res = await broker.json<{ code: string }>(`/v1/topics/${topic}/subscriptions/s`, {
        method: "PUT",
        json: { push: { url } },
      });
      expect({ url, status: res.status, code: res.body.code }).toEqual({
        url,
        status: 400,
        code: "invalid_push_endpoint",
      });
    }
  });
});
