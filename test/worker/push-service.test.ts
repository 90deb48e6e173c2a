/**
 * Workers without HTTP, in workerd: a second Worker (test/worker/fixtures/push-receiver.mjs)
 * publishes through the broker's RPC entrypoint `Broker`, and receives a push subscription over
 * a service binding, every request signed per Standard Webhooks and verified here with the
 * `standardwebhooks` package. An object evicted in the middle of a push loses nothing.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { WireMessage } from "../../src/protocol/message";
import type { SubscriptionInfo } from "../../src/protocol/topic-rpc";
import { eventually, freshTopic, sqlIn, topicStub } from "./helpers";
import { call, expectJson, expectProblem, readAll } from "./http-support";

const receiver = (env as unknown as { RECEIVER: Fetcher }).RECEIVER;

/** Publishes through the second Worker, which calls `env.BROKER.publish`. */
async function publishViaRpc(topic: string, data: unknown, options: Record<string, unknown> = {}) {
  const res = await receiver.fetch("https://receiver/publish", {
    method: "POST",
    body: JSON.stringify({ topic, data, options }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A push subscription to the second Worker; answers its info and its signing secret. */
async function pushSubscription(topic: string, sub: string, extra: Record<string, unknown> = {}) {
  const res = await call("PUT", `/v1/topics/${topic}/subscriptions/${sub}`, {
    json: { startAt: "earliest", backoff: { min: 0, max: 0 }, push: { service: "RECEIVER" }, ...extra },
  });
  return expectJson<SubscriptionInfo & { secret: string }>(res, 201);
}

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** What the receiver got, each request verified with standardwebhooks: the messages it carried. */
async function received(topic: string, secret: string): Promise<{ id: string; message: WireMessage }[]> {
  const webhook = new Webhook(secret);
  const log = await readAll(`${topic}.received`).catch(() => []);
  return log.map((entry) => {
    const { headers, body } = entry.data as Received;
    const message = webhook.verify(body, headers) as WireMessage;
    return { id: headers["webhook-id"] as string, message };
  });
}

describe("the RPC entrypoint", () => {
  it("publishes from another Worker, with the HTTP API's answers and refusals", async () => {
    const topic = freshTopic("rpc");
    const first = await publishViaRpc(
      topic,
      { order: 1 },
      { key: "c-7", attributes: { region: "eu" }, idempotencyKey: "k1" },
    );
    expect(first).toMatchObject({ status: 200, body: { seq: 1, duplicate: false } });
    const again = await publishViaRpc(topic, { order: 1 }, { idempotencyKey: "k1" });
    expect(again.body).toMatchObject({ seq: 1, duplicate: true });
    const [message] = await readAll(topic);
    expect(message).toMatchObject({ seq: 1, key: "c-7", attributes: { region: "eu" }, data: { order: 1 } });

    const refused = await publishViaRpc(topic, 1, { attributes: { "dead-letter.topic": "x" } });
    expect(refused.body.error).toMatch(/^invalid_request: /);
    const badName = await publishViaRpc("no spaces", 1);
    expect(badName.body.error).toMatch(/^invalid_name: /);
  });
});

describe("push over a service binding", () => {
  it("delivers every message to the Worker, signed, and acks it", async () => {
    const topic = freshTopic("svc");
    const { secret, config } = await pushSubscription(topic, "worker");
    expect(secret).toMatch(/^whsec_/);
    expect(config.push).toMatchObject({ service: "RECEIVER", url: null });
    for (let i = 1; i <= 5; i++) await publishViaRpc(topic, { n: i });

    await eventually(async () => (await received(topic, secret)).length >= 5);
    const got = await received(topic, secret);
    expect(
      got.map((r) => r.message.data).sort((a, b) => (a as { n: number }).n - (b as { n: number }).n),
    ).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
    expect(new Set(got.map((r) => r.id)).size).toBe(5);
    await eventually(async () => {
      const info = await expectJson<SubscriptionInfo>(
        await call("GET", `/v1/topics/${topic}/subscriptions/worker`),
        200,
      );
      return info.stats.acked === 5 && info.stats.backlog === 0;
    });
    const info = await expectJson<SubscriptionInfo>(
      await call("GET", `/v1/topics/${topic}/subscriptions/worker`),
      200,
    );
    expect(info.stats.push).toMatchObject({ lastStatus: 204, consecutiveFailures: 0 });
    expect(JSON.stringify(info)).not.toContain(secret);
  });

  it("retries a failed delivery with the same webhook-id", async () => {
    const topic = freshTopic("svc-retry");
    const { secret } = await pushSubscription(topic, "worker");
    await publishViaRpc(topic, { answer: 500 });
    await eventually(async () => (await received(topic, secret)).length >= 2);
    const got = await received(topic, secret);
    expect(got.map((r) => r.message.attempt)).toEqual([1, 2]);
    expect(got[0]?.id).toBe(got[1]?.id);
  });

  it("refuses a binding the worker does not have, and pulls from a push subscription", async () => {
    const topic = freshTopic("svc-refuse");
    for (const service of ["NOPE", "TOPIC"]) {
      const res = await call("PUT", `/v1/topics/${topic}/subscriptions/s`, { json: { push: { service } } });
      await expectProblem(res, 400, "invalid_push_endpoint");
    }
    await pushSubscription(topic, "worker");
    const pull = await call("POST", `/v1/topics/${topic}/subscriptions/worker/pull`, { json: {} });
    await expectProblem(pull, 409, "conflict");
  });

  it("loses nothing when the object is evicted in the middle of a push", async () => {
    const topic = freshTopic("svc-evict");
    const { secret } = await pushSubscription(topic, "worker", { ackTimeout: "1s" });
    for (let i = 1; i <= 3; i++) await publishViaRpc(topic, { n: i, slow: 300 });
    // Requests are in flight (the receiver takes 300 ms): the object goes, its memory with it.
    await eventually(async () => (await sqlIn(topic, "SELECT id FROM leases")).length > 0);
    await evictDurableObject(topicStub(topic));
    // The leases outlive the object; once they run out the alarm gives the messages back.
    await sqlIn(topic, "UPDATE leases SET expires_at = 0");
    await evictDurableObject(topicStub(topic));
    await runDurableObjectAlarm(topicStub(topic));
    await runDurableObjectAlarm(topicStub(topic));
    await eventually(async () => {
      const info = await topicStub(topic).getSubscription("worker");
      return info.ok && info.value.stats.acked === 3 && info.value.stats.backlog === 0;
    }, 1_000);
    const got = await received(topic, secret);
    const seqs = new Set(got.map((r) => r.message.seq));
    expect([...seqs].sort()).toEqual([1, 2, 3]);
    // A duplicate is only a redelivery of the same message, under the same webhook-id.
    for (const { id, message } of got) expect(id).toBe(`${message.id}/worker`);
  });
});
