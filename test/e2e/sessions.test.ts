/**
 * One Broker of the SDK, one WebSocket: 50 topics of live tails and consumers on a real broker
 * (`npm start` on workerd), each message once with its topic, acks to the right subscription,
 * and every subscription resumed after the broker restarts.
 */
import { describe, expect, it } from "vitest";
import { Broker as Client } from "../../src/client/client";
import type { LiveTail } from "../../src/client/live";
import type { Message, ReceivedMessage } from "../../src/client/message";
import type { Subscription } from "../../src/client/subscription";
import { freshTopic, removeState, sleep, startBroker } from "./harness";

/** Node's WebSocket, counting the sockets the client opens and where to. */
function countingWebSocket() {
  const opened: string[] = [];
  class Counting extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      opened.push(new URL(url).pathname);
    }
  }
  return { WebSocket: Counting as typeof WebSocket, opened };
}

/** Collects what an iterator yields into `into` until it ends. */
function drain<T>(iterable: AsyncIterable<T>, into: T[]): void {
  void (async () => {
    try {
      for await (const item of iterable) into.push(item);
    } catch {
      // the test reads what arrived
    }
  })();
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe("one Broker, one connection", () => {
  it("carries 50 topics, tails and consumers, on one socket, and resumes each after a broker restart", async () => {
    let broker = await startBroker();
    try {
      const { WebSocket, opened } = countingWebSocket();
      const client = new Client({ url: broker.url, WebSocket, reconnect: { min: 100, max: 1_000 } });
      const topics = Array.from({ length: 50 }, () => freshTopic());
      const tails = new Map<string, { tail: LiveTail; got: Message[] }>();
      const consumers = new Map<string, { sub: Subscription; got: ReceivedMessage[] }>();
      for (const [i, topic] of topics.entries()) {
        await client.publish(topic, "seed");
        if (i % 2 === 0) {
          const tail = client.live(topic);
          const got: Message[] = [];
          drain(tail, got);
          tails.set(topic, { tail, got });
        } else {
          const sub = client.subscribe(topic, "work", { create: { startAt: "latest" } });
          const got: ReceivedMessage[] = [];
          drain(sub, got);
          consumers.set(topic, { sub, got });
        }
      }
      const all = [...tails.values()].map((t) => t.tail as { status: { type: string } });
      const subs = [...consumers.values()].map((c) => c.sub as { status: { type: string } });
      await until(() => [...all, ...subs].every((s) => s.status.type === "open"), "every subscription open");

      for (const topic of topics) await client.publish(topic, `${topic} one`);
      await until(
        () => [...tails.values(), ...consumers.values()].every((x) => x.got.length === 1),
        "one message on each",
      );
      for (const [topic, { got }] of [...tails, ...consumers])
        expect(got.map((m) => m.text())).toEqual([`${topic} one`]);
      for (const { got } of consumers.values()) for (const message of got) message.ack();
      for (const { sub } of consumers.values()) await sub.flush();
      for (const topic of consumers.keys()) {
        const { body } = await broker.json<{ stats: { acked: number; backlog: number } }>(
          `/v1/topics/${topic}/subscriptions/work`,
        );
        expect(body.stats).toMatchObject({ acked: 1, backlog: 0 });
      }
      expect(opened).toEqual(["/v1/ws"]);

      // The broker goes away and comes back: each subscription resumes where it stood.
      await broker.stop();
      broker = await startBroker({ port: broker.port, stateDir: broker.stateDir });
      await until(
        () => [...all, ...subs].every((s) => s.status.type === "open"),
        "every subscription open again",
      );
      for (const topic of topics) await client.publish(topic, `${topic} two`);
      await until(
        () => [...tails.values(), ...consumers.values()].every((x) => x.got.length >= 2),
        "the second message on each",
      );
      await sleep(300); // a repeat would show by now
      for (const [topic, { got }] of [...tails, ...consumers]) {
        expect(got.map((m) => m.text())).toEqual([`${topic} one`, `${topic} two`]);
      }
      expect(opened.length).toBeGreaterThan(1);
      expect(new Set(opened)).toEqual(new Set(["/v1/ws"]));
      for (const { tail } of tails.values()) tail.close();
      for (const { sub } of consumers.values()) await sub.close();
    } finally {
      await broker.stop();
      await removeState(broker);
    }
  });
});
