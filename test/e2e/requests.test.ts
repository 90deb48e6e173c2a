/**
 * Request/reply against a real broker (`npm start` on workerd), through the client SDK and raw
 * HTTP: replies, timeouts, no responders, late replies, two responders, a requester that
 * disconnects, and durable reply topics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker as Client } from "../../src/client/client";
import { BrokerError } from "../../src/client/errors";
import type { ReceivedMessage } from "../../src/client/message";
import type { Subscription } from "../../src/client/subscription";
import type { WireMessage } from "../../src/protocol/message";
import { type Broker, freshTopic, removeState, sleep, startBroker } from "./harness";

/** The next message of a subscription, failing after `ms`. */
async function next(subscription: Subscription, ms = 20_000): Promise<ReceivedMessage> {
  const iterator = subscription[Symbol.asyncIterator]();
  const result = await Promise.race([
    iterator.next(),
    sleep(ms).then(() => {
      throw new Error("no message arrived");
    }),
  ]);
  if (result.done) throw new Error("the subscription ended");
  return result.value;
}

describe("request/reply against a running broker", () => {
  let broker: Broker;
  let client: Client;

  beforeAll(async () => {
    broker = await startBroker();
    client = new Client({ url: broker.url });
  });

  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  it("answers a request with the responder's reply, over the SDK on both ends", async () => {
    const topic = freshTopic();
    const responder = client.subscribe(topic, "stock", {
      create: { startAt: "latest" },
      onMessage: async (message) => {
        const { sku } = message.json<{ sku: string }>();
        await message.reply({ sku, inStock: sku.startsWith("BK") }, { attributes: { warehouse: "north" } });
        message.ack();
      },
    });
    // The subscription exists once the socket is open.
    while (responder.status.type !== "open") await sleep(20);
    const reply = await client.request(topic, { sku: "BK-1" }, { timeout: "10s", correlationId: "check-1" });
    expect(reply.json()).toEqual({ sku: "BK-1", inStock: true });
    expect(reply).toMatchObject({ correlationId: "check-1", attributes: { warehouse: "north" } });
    await responder.close();
  });

  it("times out, refuses the late reply, and says no_responders at once where nobody listens", async () => {
    const topic = freshTopic();
    await broker.json(`/v1/topics/${topic}/subscriptions/slow`, { method: "PUT", json: {} });
    const timedOut = await client.request(topic, { q: 1 }, { timeout: "300ms" }).catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ code: "reply_timeout", status: 504 });
    const slow = client.subscribe(topic, "slow");
    const late = await next(slow);
    await expect(late.reply({ late: true })).rejects.toMatchObject({ code: "gone", status: 410 });
    late.ack();
    await slow.close();

    const empty = freshTopic();
    await broker.json(`/v1/topics/${empty}`, { method: "PUT", json: {} });
    const started = Date.now();
    const refused = await client.request(empty, { q: 1 }, { timeout: "20s" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BrokerError);
    expect(refused).toMatchObject({ code: "no_responders", status: 503 });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("takes the first of two replies; the second is told the requester is gone", async () => {
    const topic = freshTopic();
    await broker.json(`/v1/topics/${topic}/subscriptions/a`, { method: "PUT", json: {} });
    await broker.json(`/v1/topics/${topic}/subscriptions/b`, { method: "PUT", json: {} });
    const asked = client.request(topic, { q: 1 }, { timeout: "20s" });
    const [first, second] = [client.subscribe(topic, "a"), client.subscribe(topic, "b")];
    const [m1, m2] = [await next(first), await next(second)];
    await m1.reply({ from: "a" });
    await expect(m2.reply({ from: "b" })).rejects.toMatchObject({ code: "gone" });
    expect((await asked).json()).toEqual({ from: "a" });
    m1.ack();
    m2.ack();
    await Promise.all([first.close(), second.close()]);
  });

  it("cancels the wait of a requester whose socket closes: its reply is refused with 410", async () => {
    const topic = freshTopic();
    await broker.json(`/v1/topics/${topic}/subscriptions/workers`, { method: "PUT", json: {} });
    const socket = new WebSocket(`${broker.url.replace("http", "ws")}/v1/topics/${topic}/ws`, [
      "edge-broker.v1",
    ]);
    await new Promise((resolve, reject) => {
      socket.addEventListener("message", resolve, { once: true }); // hello
      socket.addEventListener("error", reject, { once: true });
    });
    socket.send(JSON.stringify({ type: "request", id: "r1", timeout: "25s", message: { data: { q: 1 } } }));
    const pulled = await broker.json<{ messages: WireMessage[] }>(
      `/v1/topics/${topic}/subscriptions/workers/pull`,
      {
        method: "POST",
        json: { max: 1, wait: "10s" },
      },
    );
    const replyTo = pulled.body.messages[0]?.replyTo as string;
    socket.close(1000);
    // The close travels to the topic and on to the inbox; a reply delivered before it had (200)
    // would mean the inbox kept waiting for a requester that had gone.
    await sleep(1_000);
    const res = await broker.json(`/v1/replies/${replyTo}`, { method: "POST", json: { late: true } });
    expect(res).toMatchObject({ status: 410, body: { code: "gone" } });
  });

  it("stores a reply to a durable reply topic with the request's correlationId", async () => {
    const [topic, replies] = [freshTopic(), freshTopic()];
    await broker.json(`/v1/topics/${topic}/subscriptions/svc`, {
      method: "PUT",
      json: { startAt: "earliest" },
    });
    await client.publish(topic, { order: 7 }, { replyTo: replies, correlationId: "order-7" });
    const svc = client.subscribe(topic, "svc");
    const order = await next(svc);
    expect(order).toMatchObject({ replyTo: replies, correlationId: "order-7" });
    await order.reply({ shipped: true }, { idempotencyKey: "ship-7" });
    await order.reply({ shipped: true }, { idempotencyKey: "ship-7" }); // stored once
    order.ack();
    await svc.close();
    const log = await broker.json<{ messages: WireMessage[] }>(`/v1/topics/${replies}/messages?after=0`);
    expect(log.body.messages).toEqual([
      expect.objectContaining({ correlationId: "order-7", data: { shipped: true } }),
    ]);
  });
});
