/**
 * Producer batching in the SDK against a real broker: concurrent `publish()` calls leave as
 * `/batch` requests, land in the log in the order they were made, and each call gets its own
 * receipt — or its own error when the broker refuses one message of a batch.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker as Client } from "../../src/client/client";
import type { BrokerError } from "../../src/client/errors";
import { type Broker, freshTopic, removeState, startBroker } from "./harness";

let broker: Broker;

/** Counts the requests the client sends, by path, on top of the real fetch. */
function counted(): { fetch: typeof fetch; paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    fetch: (input, init) => {
      paths.push(new URL(String(input instanceof Request ? input.url : input)).pathname);
      return fetch(input, init);
    },
  };
}

async function readAll(topic: string): Promise<{ seq: number; data: unknown }[]> {
  const messages: { seq: number; data: unknown }[] = [];
  let after = 0;
  for (let page = 0; page < 100; page++) {
    const { body } = await broker.json<{ messages: { seq: number; data: unknown }[]; next: number }>(
      `/v1/topics/${topic}/messages?after=${after}&limit=1000`,
    );
    if (body.messages.length === 0) break;
    messages.push(...body.messages);
    after = body.next;
  }
  return messages;
}

beforeAll(async () => {
  broker = await startBroker();
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  if (broker) await removeState(broker);
});

describe("producer batching", () => {
  it("stores 2,000 concurrent publishes in call order, in a few batches, each with its own receipt", async () => {
    const topic = freshTopic();
    const { fetch, paths } = counted();
    const client = new Client({ url: broker.url, fetch });
    const receipts = await Promise.all(
      Array.from({ length: 2_000 }, (_, i) => client.publish(topic, { i }, { key: `k-${i % 7}` })),
    );
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
    const log = await readAll(topic);
    expect(log.map((m) => (m.data as { i: number }).i)).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
    expect(paths.every((p) => p.endsWith("/batch"))).toBe(true);
    expect(paths.length).toBeLessThanOrEqual(4);
  });

  it("sends a lone publish as a raw request, and never batches with batch: false", async () => {
    const topic = freshTopic();
    const { fetch, paths } = counted();
    const client = new Client({ url: broker.url, fetch });
    await client.publish(topic, new Uint8Array([1, 2, 3]));
    await Promise.all([1, 2, 3].map((i) => client.publish(topic, { i }, { batch: false })));
    expect(paths).toEqual(Array(4).fill(`/v1/topics/${topic}/messages`));
    const { body } = await broker.json<{ messages: { dataBase64?: string }[] }>(
      `/v1/topics/${topic}/messages?after=0`,
    );
    expect(body.messages[0]?.dataBase64).toBe("AQID");
  });

  it("gives the one refused message its error and stores the others of its batch", async () => {
    const topic = freshTopic();
    const client = new Client({ url: broker.url });
    const calls = [0, 1, 2, 3].map((i) =>
      client.publish(topic, { i }, i === 2 ? { delay: "30d" } : {}).then(
        (receipt) => ({ ok: true as const, seq: receipt.seq }),
        (error: BrokerError) => ({ ok: false as const, code: error.code }),
      ),
    );
    const results = await Promise.all(calls);
    expect(results[2]).toEqual({ ok: false, code: "invalid_request" });
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    const log = await readAll(topic);
    expect(log.map((m) => (m.data as { i: number }).i)).toEqual([0, 1, 3]);
  });

  it("batches with batching options, and not at all with batching: false", async () => {
    const topic = freshTopic();
    const small = counted();
    const client = new Client({ url: broker.url, fetch: small.fetch, batching: { maxMessages: 10 } });
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.publish(topic, { i })));
    expect(small.paths.length).toBeGreaterThanOrEqual(5);
    const none = counted();
    const unbatched = new Client({ url: broker.url, fetch: none.fetch, batching: false });
    await Promise.all(Array.from({ length: 5 }, (_, i) => unbatched.publish(topic, { i })));
    expect(none.paths).toEqual(Array(5).fill(`/v1/topics/${topic}/messages`));
    expect(await readAll(topic)).toHaveLength(55);
  });
});
