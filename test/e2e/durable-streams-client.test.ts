/**
 * `@durable-streams/client`, unmodified, against a real broker's `/ds`: create, idempotent
 * producer appends, catch-up reads, live long-poll and SSE readers, close, and a reader that
 * resumes from its saved offset after the broker was killed and restarted on the same state.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { DurableStream, IdempotentProducer, stream } from "@durable-streams/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker as EdgeBroker } from "../../src/client/index";
import { type Broker, freshTopic, removeState, startBroker } from "./harness";
import { README_ORIGIN } from "./readme-session";

/**
 * The commands of the README's "Durable Streams" block, each with the output shown under it
 * (`# → …` lines; none when it prints nothing).
 */
async function readmeStreamSession(): Promise<{ command: string; shown: string }[]> {
  const text = await readFile(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
  const section = text.slice(text.indexOf("\n## Durable Streams"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  const steps: { command: string; shown: string }[] = [];
  for (const line of block.replace(/\\\n\s*/g, "").split("\n")) {
    if (line.startsWith("# →")) {
      const last = steps.at(-1);
      if (last) last.shown += `${last.shown ? "\n" : ""}${line.slice(3).trim()}`;
    } else if (line.trim() !== "") steps.push({ command: line, shown: "" });
  }
  return steps;
}

type Event = { n: number };

/** Reads with a live mode until `count` items arrived, then stops the reader. */
async function readLive(url: string, live: "long-poll" | "sse", offset: string, count: number) {
  const res = await stream<Event>({ url, live, offset });
  const items: Event[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${live}: ${items.length} of ${count} items`)), 30_000);
    res.subscribeJson(async (batch) => {
      items.push(...batch.items);
      if (items.length >= count) {
        clearTimeout(timer);
        res.cancel();
        resolve();
      }
    });
  });
  return items;
}

describe("the Durable Streams client against a real broker", () => {
  let broker: Broker;
  const streamUrl = (name: string) => `${broker.url}/ds/v1/stream/${name}`;

  beforeAll(async () => {
    broker = await startBroker({ vars: { DS_LONG_POLL_MS: "2000" } });
  });

  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  it("runs the README's Durable Streams session as written", async () => {
    const steps = await readmeStreamSession();
    expect(steps.length).toBeGreaterThanOrEqual(5);
    const name = freshTopic();
    for (const { command, shown } of steps) {
      const line = command
        .replaceAll(README_ORIGIN, broker.url)
        .replaceAll("/stream/chat", `/stream/${name}`);
      const { stdout } = await promisify(execFile)("bash", ["-o", "pipefail", "-c", line]);
      expect(stdout.replaceAll("\r", "").trim(), command).toBe(shown);
    }
  });

  it("appends through an idempotent producer and reads every event back once", async () => {
    const url = streamUrl(freshTopic());
    const handle = await DurableStream.create({ url, contentType: "application/json" });
    const producer = new IdempotentProducer(handle, "writer-1", {});
    for (let n = 0; n < 50; n++) producer.append(JSON.stringify({ n }));
    await producer.flush();
    await producer.close();

    const res = await stream<Event>({ url, live: false });
    expect(await res.json()).toEqual(Array.from({ length: 50 }, (_, n) => ({ n })));
    // The stream is the topic of the same name: the native API sees its 50 messages.
    const name = url.split("/").at(-1);
    const info = await broker.json<{ stats: { messages: number } }>(`/v1/topics/${name}`);
    expect(info.body.stats.messages).toBe(50);
  });

  it("shares producers with the native API: the SDK's batch with a producer is stored once", async () => {
    const name = freshTopic();
    await DurableStream.create({ url: streamUrl(name), contentType: "application/json" });
    const sdk = new EdgeBroker({ url: broker.url });
    const producer = { id: "native-1", epoch: 0, seq: 0 };
    const first = await sdk.publishBatch(name, [{ data: { n: 1 } }, { data: { n: 2 } }], { producer });
    expect(first.map((r) => r.seq)).toEqual([1, 2]);
    expect(await sdk.publishBatch(name, [{ data: { n: 1 } }, { data: { n: 2 } }], { producer })).toEqual([]);
    // The same producer goes on over /ds, and the stream holds each event once.
    const next = await fetch(streamUrl(name), {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Producer-Id": "native-1",
        "Producer-Epoch": "0",
        "Producer-Seq": "1",
      },
      body: JSON.stringify({ n: 3 }),
    });
    expect(next.status).toBe(200);
    const res = await stream<Event>({ url: streamUrl(name), live: false });
    expect(await res.json()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("delivers appends to live long-poll and SSE readers", async () => {
    const url = streamUrl(freshTopic());
    const handle = await DurableStream.create({ url, contentType: "application/json" });
    const head = await handle.head();
    const offset = head.exists ? (head.offset ?? "-1") : "-1";
    const polled = readLive(url, "long-poll", offset, 3);
    const streamed = readLive(url, "sse", offset, 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let n = 1; n <= 3; n++) await handle.append(JSON.stringify({ n }));
    const expected = [{ n: 1 }, { n: 2 }, { n: 3 }];
    expect(await polled).toEqual(expected);
    expect(await streamed).toEqual(expected);
  });

  it("tells readers the stream is closed, and refuses appends after it", async () => {
    const url = streamUrl(freshTopic());
    const handle = await DurableStream.create({ url, contentType: "text/plain" });
    await handle.append("last words");
    await handle.close();
    const res = await stream({ url, live: false });
    expect(await res.text()).toBe("last words");
    expect(res.streamClosed).toBe(true);
    await expect(handle.append("more")).rejects.toThrow();
  });

  it("resumes from a saved offset after the broker is killed and restarted", async () => {
    const name = freshTopic();
    const url = streamUrl(name);
    const handle = await DurableStream.create({ url, contentType: "application/json" });
    for (let n = 1; n <= 3; n++) await handle.append(JSON.stringify({ n }));
    const first = await stream<Event>({ url, live: false });
    expect(await first.json()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const saved = first.offset;

    // A producer's request, to be retried after the crash.
    const stamp = { "Producer-Id": "p", "Producer-Epoch": "0", "Producer-Seq": "0" };
    const append = () =>
      fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...stamp },
        body: JSON.stringify({ n: 4 }),
      });
    expect((await append()).status).toBe(200);

    await broker.kill();
    broker = await startBroker({
      port: broker.port,
      stateDir: broker.stateDir,
      vars: { DS_LONG_POLL_MS: "2000" },
    });

    // The retry is recognised as the duplicate it is: the producer's state survived the crash.
    expect((await append()).status).toBe(204);
    const after = DurableStream.connect({ url });
    await (await after).append(JSON.stringify({ n: 5 }));
    const resumed = await stream<Event>({ url, live: false, offset: saved });
    expect(await resumed.json()).toEqual([{ n: 4 }, { n: 5 }]);
  });
});
