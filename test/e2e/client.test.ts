/**
 * The client SDK against a real broker (`npm start` on workerd), over real HTTP and WebSockets
 * with Node's global WebSocket: what a user of `edge-broker/client` sees.
 */
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOCK_TOLERANCE_S } from "../../src/auth/tokens";
import { Broker as Client } from "../../src/client/client";
import type { BrokerError } from "../../src/client/errors";
import type { Message, ReceivedMessage } from "../../src/client/message";
import type { ConnectionStatus, StatusEvent } from "../../src/client/status";
import { type Broker, freshTopic, removeState, sleep, startBroker } from "./harness";

const TIMEOUT_MS = 20_000;

/** The next `count` items of an async iterator, failing after `ms`. */
async function take<T>(iterator: AsyncIterator<T>, count: number, ms = TIMEOUT_MS): Promise<T[]> {
  const items: T[] = [];
  const deadline = Date.now() + ms;
  while (items.length < count) {
    const left = deadline - Date.now();
    const next = await Promise.race([
      iterator.next(),
      sleep(Math.max(0, left)).then(() => {
        throw new Error(`timed out with ${items.length} of ${count} items`);
      }),
    ]);
    if (next.done) throw new Error(`ended after ${items.length} of ${count} items`);
    items.push(next.value);
  }
  return items;
}

/**
 * Resolves when `target` is in, or next reports, a status of `type`. The current status counts:
 * a client may reconnect before the test gets to listen (a restarted broker answers the client's
 * retry before it answers the harness).
 */
function statusOf(
  target: EventTarget & { readonly status?: ConnectionStatus },
  type: ConnectionStatus["type"],
  ms = TIMEOUT_MS,
): Promise<ConnectionStatus> {
  if (target.status?.type === type) return Promise.resolve(target.status);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} status within ${ms} ms`)), ms);
    target.addEventListener("status", function listener(event) {
      const { status } = event as StatusEvent;
      if (status.type !== type) return;
      clearTimeout(timer);
      target.removeEventListener("status", listener);
      resolve(status);
    });
  });
}

describe("the client against a running broker", () => {
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

  it("delivers what was published, in order and intact, and its acks empty the backlog", async () => {
    const topic = freshTopic();
    await client.publish(topic, { order: 1 });
    await client.publish(topic, "plain text");
    await client.publish(topic, new Uint8Array([0, 1, 255]));
    await client.publish(
      topic,
      { order: 4 },
      { attributes: { Region: "eu", tier: "gold" }, key: "customer-7" },
    );

    const subscription = client.subscribe(topic, "billing", {
      create: { startAt: "earliest" },
      maxInFlight: 10,
    });
    const messages = await take<ReceivedMessage>(subscription[Symbol.asyncIterator](), 4);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(messages[0]?.json()).toEqual({ order: 1 });
    expect(messages[1]?.text()).toBe("plain text");
    expect(messages[2]?.bytes()).toEqual(new Uint8Array([0, 1, 255]));
    expect(messages[3]).toMatchObject({
      attributes: { Region: "eu", tier: "gold" },
      key: "customer-7",
      attempt: 1,
    });
    for (const message of messages) message.ack();
    await subscription.flush();
    await subscription.close();
    expect(await subscription.closed).toBeUndefined();

    const info = await broker.json<{ stats: { backlog: number; acked: number } }>(
      `/v1/topics/${topic}/subscriptions/billing`,
    );
    expect(info.body.stats).toMatchObject({ backlog: 0, acked: 4 });
  });

  it("redelivers a nacked message with the next attempt", async () => {
    const topic = freshTopic();
    const subscription = client.subscribe(topic, "work", { create: { startAt: "earliest" } });
    await statusOf(subscription, "open");
    await client.publish(topic, "try me");
    const iterator = subscription[Symbol.asyncIterator]();
    const [first] = await take(iterator, 1);
    first?.nack(0);
    const [second] = await take(iterator, 1);
    expect(second).toMatchObject({ seq: first?.seq, attempt: 2 });
    second?.ack();
    await subscription.close();
  });

  it("never holds more than maxInFlight messages at once", async () => {
    const topic = freshTopic();
    await client.publishBatch(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ data: { i } })),
    );
    const subscription = client.subscribe(topic, "slow", { create: { startAt: "earliest" }, maxInFlight: 2 });
    const iterator = subscription[Symbol.asyncIterator]();
    const seen: number[] = [];
    for (let round = 0; round < 5; round++) {
      const batch = await take(iterator, 2);
      await sleep(200); // let anything sent beyond the credit arrive
      expect(subscription.held).toBeLessThanOrEqual(2);
      for (const message of batch) {
        seen.push(message.seq);
        message.ack();
      }
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await subscription.close();
  });

  it("ends a consumer of a subscription that does not exist with not_found, without retrying", async () => {
    const topic = freshTopic();
    await client.publish(topic, "x");
    const started = Date.now();
    const subscription = client.subscribe(topic, "missing");
    expect(await subscription.closed).toMatchObject({ code: "not_found" });
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(subscription[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: "not_found" });
  });

  it("keeps a live tail of a topic that does not exist open, and gives it the topic's first message", async () => {
    const topic = freshTopic();
    const tail = client.live(topic);
    const opened = await statusOf(tail, "open");
    expect(opened).toMatchObject({ type: "open", epoch: null });
    const next = tail[Symbol.asyncIterator]().next();
    const { seq } = await client.publish(topic, { first: true });
    const first = await next;
    expect(first.value?.seq).toBe(seq);
    expect(first.value?.json()).toEqual({ first: true });
    expect(tail.epoch).toBe(((await broker.json(`/v1/topics/${topic}`)).body as { epoch: string }).epoch);
    tail.close();
  });

  it("ends its consumers with not_found when the subscription is deleted", async () => {
    const topic = freshTopic();
    const subscription = client.subscribe(topic, "doomed", { create: {} });
    await statusOf(subscription, "open");
    await broker.json(`/v1/topics/${topic}/subscriptions/doomed`, { method: "DELETE" });
    expect(await subscription.closed).toMatchObject({ code: "not_found", closeCode: 4001 });
  });

  it("tails only new messages when no position is given", async () => {
    const topic = freshTopic();
    await client.publish(topic, "before");
    const tail = client.live(topic);
    await statusOf(tail, "open");
    await client.publish(topic, "after");
    const [message] = await take<Message>(tail[Symbol.asyncIterator](), 1);
    expect(message?.text()).toBe("after");
    expect(tail.position).toBe(2);
    tail.close();
  });

  it("refuses to resume a tail in a topic that was deleted and re-created", async () => {
    const topic = freshTopic();
    await client.publish(topic, "one");
    const first = client.live(topic, { after: 0 });
    await take(first[Symbol.asyncIterator](), 1);
    const { position, epoch } = first;
    first.close();
    await broker.json(`/v1/topics/${topic}`, { method: "DELETE" });
    await client.publish(topic, "new life");
    const resumed = client.live(topic, { after: position as number, epoch: epoch as string });
    const error = (await resumed.closed) as BrokerError;
    expect(error).toMatchObject({ code: "conflict" });
    expect(resumed.status).toMatchObject({ type: "closed", error: { code: "conflict" } });
  });
});

describe("the client across a broker restart", () => {
  it("resumes a live tail after the last seq it delivered: no gap, no repeat", async () => {
    let broker = await startBroker();
    try {
      const client = new Client({ url: broker.url });
      const topic = freshTopic();
      await client.publish(topic, "seed");
      const tail = client.live(topic, { reconnect: { min: 100, max: 1_000 } });
      await statusOf(tail, "open");
      const iterator = tail[Symbol.asyncIterator]();
      for (const n of [1, 2, 3]) await client.publish(topic, `before ${n}`);
      const before = await take<Message>(iterator, 3);

      const reconnecting = statusOf(tail, "reconnecting");
      await broker.stop();
      await reconnecting;
      broker = await startBroker({ port: broker.port, stateDir: broker.stateDir });
      await statusOf(tail, "open", 30_000);
      for (const n of [4, 5, 6]) await client.publish(topic, `after ${n}`);
      const after = await take<Message>(iterator, 3);

      expect([...before, ...after].map((m) => m.seq)).toEqual([2, 3, 4, 5, 6, 7]);
      expect(after.map((m) => m.text())).toEqual(["after 4", "after 5", "after 6"]);
      tail.close();
    } finally {
      await broker.stop();
      await removeState(broker);
    }
  });

  it("keeps a consumer going, and delivers the acks it made while the broker was down", async () => {
    let broker = await startBroker();
    try {
      const client = new Client({ url: broker.url });
      const topic = freshTopic();
      const subscription = client.subscribe(topic, "s", {
        create: { startAt: "earliest", ackTimeout: "10m" },
        reconnect: { min: 100, max: 1_000 },
      });
      const iterator = subscription[Symbol.asyncIterator]();
      await client.publish(topic, "first");
      const [first] = await take(iterator, 1);

      const reconnecting = statusOf(subscription, "reconnecting");
      await broker.stop();
      await reconnecting;
      first?.ack(); // no socket: owed until the next one
      broker = await startBroker({ port: broker.port, stateDir: broker.stateDir });
      await statusOf(subscription, "open", 30_000);
      await client.publish(topic, "second");
      const [second] = await take(iterator, 1);
      expect(second).toMatchObject({ seq: 2, attempt: 1 });
      second?.ack();
      await subscription.flush();
      await subscription.close();

      const info = await broker.json<{ stats: { backlog: number; acked: number } }>(
        `/v1/topics/${topic}/subscriptions/s`,
      );
      // Without the resent ack, seq 1 would sit leased for ten minutes and then come back.
      expect(info.body.stats).toMatchObject({ backlog: 0, acked: 2 });
    } finally {
      await broker.stop();
      await removeState(broker);
    }
  });
});

describe("the client against a broker that requires tokens", () => {
  const secret = new TextEncoder().encode(`e2e-${crypto.randomUUID()}-${crypto.randomUUID()}`);
  let broker: Broker;

  /** A token for `cap`, valid for `ttl` seconds. */
  const mint = (ttl: number, cap: Record<string, string[]> = { "*": ["publish", "subscribe", "admin"] }) =>
    new SignJWT({ cap })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1_000) + ttl)
      .sign(secret);

  beforeAll(async () => {
    broker = await startBroker({ vars: { AUTH: "required", JWT_SECRET: new TextDecoder().decode(secret) } });
  });

  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  it("consumes with the token in the subprotocol and tails with it in the query, as a browser would", async () => {
    const topic = freshTopic();
    const token = await mint(600);
    const client = new Client({ url: broker.url, token });
    const subscription = client.subscribe(topic, "s", { create: { startAt: "earliest" } });
    await statusOf(subscription, "open"); // the topic exists from here on
    const tail = new Client({ url: broker.url, token, socketToken: "query" }).live(topic, { after: 0 });
    await client.publish(topic, "hello");
    const [received] = await take(subscription[Symbol.asyncIterator](), 1);
    const [tailed] = await take<Message>(tail[Symbol.asyncIterator](), 1);
    expect(received?.text()).toBe("hello");
    expect(tailed?.text()).toBe("hello");
    received?.ack();
    await subscription.close();
    tail.close();
  });

  // The broker refuses an upgrade on the socket (an error frame, close 1008), which a browser can read.
  it("ends a consumer without a token with unauthorized instead of retrying forever", async () => {
    const started = Date.now();
    const subscription = new Client({ url: broker.url }).subscribe(freshTopic(), "s");
    expect(await subscription.closed).toMatchObject({ code: "unauthorized" });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("ends a consumer whose token lacks the subscribe right with forbidden", async () => {
    const token = await mint(600, { "some-other-topic": ["subscribe"] });
    const subscription = new Client({ url: broker.url, token }).subscribe(freshTopic(), "s");
    expect(await subscription.closed).toMatchObject({ code: "forbidden" });
  });

  it("reconnects with a fresh token when the broker closes a socket whose token expired", async () => {
    const topic = freshTopic();
    let calls = 0;
    // The first two tokens (the PUT that creates the subscription, the first socket) are refused
    // two seconds from now: their exp is past, and the clock tolerance is nearly spent.
    const client = new Client({
      url: broker.url,
      token: () => mint(++calls <= 2 ? 2 - CLOCK_TOLERANCE_S : 600),
    });
    const subscription = client.subscribe(topic, "s", { create: {}, reconnect: { min: 50, max: 500 } });
    await statusOf(subscription, "open");
    const reconnecting = (await statusOf(subscription, "reconnecting", 30_000)) as { error: BrokerError };
    expect(reconnecting.error).toMatchObject({ code: "unauthorized", closeCode: 1008 });
    await statusOf(subscription, "open");
    expect(calls).toBeGreaterThanOrEqual(3);
    await client.publish(topic, "still here");
    const [message] = await take(subscription[Symbol.asyncIterator](), 1);
    expect(message?.text()).toBe("still here");
    message?.ack();
    await subscription.close();
  });
});
