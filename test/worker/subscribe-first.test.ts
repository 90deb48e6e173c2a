import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, type HelloFrame } from "../../src/protocol/ws-frames";
import type { Topic } from "../../src/topic/topic";
import { freshTopic, text, topicStub, unwrap } from "./helpers";
import { countMessages, openSocket } from "./ws-helpers";

/** The tables of ours in the object's database (the runtime keeps its own `_cf_` ones). */
const tables = (name: string) =>
  runInDurableObject(topicStub(name), (_topic: Topic, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'")
      .toArray()
      .map((row) => row.name),
  );

const hellos = (frames: { type: string }[]) => frames.filter((f): f is HelloFrame => f.type === "hello");

describe("a live tail opened before its topic exists", () => {
  it("is accepted with epoch null, costs no storage, and gets the epoch then every message from seq 1", async () => {
    const name = freshTopic();
    const socket = await openSocket(name);
    await socket.until((f) => f.length >= 1);
    expect(socket.frames[0]).toMatchObject({ type: "hello", topic: name, epoch: null, after: 0 });
    expect(await tables(name)).toEqual([]);

    unwrap(await topicStub(name).publish([text("one"), text("two")]));
    await socket.until(countMessages(2));
    const { epoch } = unwrap(await topicStub(name).info());
    // The epoch comes before the first message.
    expect(socket.frames[1]).toMatchObject({ type: "hello", epoch, after: 0 });
    expect(socket.messages().map((m) => [m.seq, m.data])).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
    socket.ws.close(1000);
  });

  it("learns the epoch when a PUT creates the topic, before any message", async () => {
    const name = freshTopic();
    const socket = await openSocket(name);
    await socket.until((f) => f.length >= 1);
    unwrap(await topicStub(name).putConfig({}));
    await socket.until((f) => hellos(f).length >= 2);
    expect(hellos(socket.frames)[1]?.epoch).toBe(unwrap(await topicStub(name).info()).epoch);
    unwrap(await topicStub(name).publish([text("first")]));
    await socket.until(countMessages(1));
    expect(socket.messages()[0]?.seq).toBe(1);
    socket.ws.close(1000);
  });

  it("waits hibernated: an evicted object still delivers the first message to it", async () => {
    const name = freshTopic();
    const socket = await openSocket(name);
    await socket.until((f) => f.length >= 1);
    await evictDurableObject(topicStub(name), { webSockets: "hibernate" });
    unwrap(await topicStub(name).publish([text("after the eviction")]));
    await socket.until(countMessages(1));
    expect(hellos(socket.frames).map((h) => h.epoch === null)).toEqual([true, false]);
    expect(socket.messages().map((m) => m.data)).toEqual(["after the eviction"]);
    socket.ws.close(1000);
  });

  it("is closed with 1008 when its token expires while it waits, without a schema written", async () => {
    const name = freshTopic();
    const socket = await openSocket(name, { expiresAt: Date.now() + 50 });
    await socket.until((f) => f.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await runDurableObjectAlarm(topicStub(name));
    expect((await socket.closed).code).toBe(CLOSE_CODES.POLICY);
    expect(await tables(name)).toEqual([]);
  });

  it("resuming in an epoch is refused with 4002 while the topic does not exist", async () => {
    const name = freshTopic();
    const socket = await openSocket(name, { after: 3, epoch: "an-old-epoch" });
    expect((await socket.closed).code).toBe(CLOSE_CODES.EPOCH_CHANGED);
  });

  it("leaves consumer sockets as they were: 4004 without the topic", async () => {
    const name = freshTopic();
    const socket = await openSocket(name, { subscription: "s" });
    expect((await socket.closed).code).toBe(CLOSE_CODES.NOT_FOUND);
    expect(await tables(name)).toEqual([]);
  });
});

/** Reads SSE events from a streaming body until `done` holds for them or 5 s pass. */
async function readEvents(
  res: Response,
  done: (events: { event: string; data: string }[]) => boolean,
  during?: () => Promise<void>,
): Promise<{ event: string; data: string }[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { event: string; data: string }[] = [];
  let buffer = "";
  let started = false;
  const deadline = Date.now() + 5_000;
  while (!done(events) && Date.now() < deadline) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { event: "message", data: "" };
      let hasData = false;
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event.event = line.slice(7);
        if (line.startsWith("data: ")) {
          event.data = line.slice(6);
          hasData = true;
        }
      }
      if (hasData) events.push(event);
    }
    if (!started && events.length > 0 && during) {
      started = true;
      await during();
    }
  }
  await reader.cancel();
  return events;
}

describe("an SSE stream opened before its topic exists", () => {
  it("says hello with epoch null, then hello with the epoch, then the first message", async () => {
    const name = freshTopic();
    const res = await exports.default.fetch(`http://broker/v1/topics/${name}/messages`, {
      headers: { Accept: "text/event-stream" },
    });
    expect(res.status).toBe(200);
    const events = await readEvents(
      res,
      (e) => e.some((x) => x.event === "message"),
      async () => {
        unwrap(await topicStub(name).publish([text("first")]));
      },
    );
    const { epoch } = unwrap(await topicStub(name).info());
    expect(events.map((e) => [e.event, JSON.parse(e.data)])).toMatchObject([
      ["hello", { epoch: null, after: 0 }],
      ["hello", { epoch, after: 0 }],
      ["message", { seq: 1, data: "first" }],
    ]);
  });

  it("a plain read of a topic that does not exist is still 404", async () => {
    const res = await exports.default.fetch(`http://broker/v1/topics/${freshTopic()}/messages?wait=50ms`);
    expect(res.status).toBe(404);
  });
});
