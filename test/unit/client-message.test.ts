import { describe, expect, it } from "vitest";
import { Message, ReceivedMessage, type Settler } from "../../src/client/message";
import { Queue } from "../../src/client/queue";
import type { WireMessage } from "../../src/protocol/message";

const wire = (fields: Partial<WireMessage>): WireMessage => ({
  seq: 1,
  id: "m1",
  publishedAt: 1_700_000_000_000,
  contentType: "application/octet-stream",
  attributes: {},
  ...fields,
});

describe("Message", () => {
  it("gives a JSON body as its value, its text and its bytes", () => {
    const message = new Message(wire({ contentType: "application/json", data: { n: [1, 2] } }));
    expect(message.data).toEqual({ n: [1, 2] });
    expect(message.json()).toEqual({ n: [1, 2] });
    expect(message.text()).toBe('{"n":[1,2]}');
    expect(new TextDecoder().decode(message.bytes())).toBe('{"n":[1,2]}');
  });

  it("gives a JSON string body as a string value and as its JSON text", () => {
    const message = new Message(wire({ contentType: "application/json", data: "quoted" }));
    expect(message.json()).toBe("quoted");
    expect(message.text()).toBe('"quoted"');
  });

  it("gives a text body as a string, and parses it on request", () => {
    const message = new Message(wire({ contentType: "text/plain;charset=utf-8", data: "[1, 2]" }));
    expect(message.data).toBe("[1, 2]");
    expect(message.text()).toBe("[1, 2]");
    expect(message.json()).toEqual([1, 2]);
    expect(message.bytes()).toEqual(new TextEncoder().encode("[1, 2]"));
  });

  it("gives a binary body as bytes", () => {
    const message = new Message(wire({ dataBase64: "AAEC/w==" }));
    expect(message.data).toEqual(new Uint8Array([0, 1, 2, 255]));
    expect(() => message.json()).toThrow(SyntaxError);
  });

  it("gives an empty body as no bytes", () => {
    expect(new Message(wire({})).bytes()).toEqual(new Uint8Array(0));
  });

  it("keeps the message's metadata", () => {
    const message = new Message(wire({ seq: 9, key: "k", attributes: { a: "b" } }));
    expect(message).toMatchObject({
      seq: 9,
      id: "m1",
      key: "k",
      attributes: { a: "b" },
      publishedAt: 1_700_000_000_000,
    });
  });
});

describe("ReceivedMessage", () => {
  const recorder = () => {
    const calls: string[] = [];
    const settler: Settler = {
      ack: (seq) => calls.push(`ack ${seq}`),
      nack: (seq, delay) => calls.push(`nack ${seq} ${delay}`),
      extend: (seq, ackTimeout) => calls.push(`extend ${seq} ${ackTimeout}`),
    };
    return { calls, settler };
  };

  it("is settled once: a second ack or a nack after an ack does nothing", () => {
    const { calls, settler } = recorder();
    const message = new ReceivedMessage(wire({ seq: 4, attempt: 2 }), settler);
    expect(message.attempt).toBe(2);
    message.extend("1m");
    message.ack();
    message.ack();
    message.nack();
    message.extend();
    expect(calls).toEqual(["extend 4 1m", "ack 4"]);
    expect(message.settled).toBe(true);
  });

  it("passes the nack delay on", () => {
    const { calls, settler } = recorder();
    new ReceivedMessage(wire({ seq: 5 }), settler).nack("30s");
    expect(calls).toEqual(["nack 5 30s"]);
  });
});

describe("Queue", () => {
  it("hands items out in order, whether they were pushed before or after the wait", async () => {
    const queue = new Queue<number>();
    queue.push(1);
    const waiting = queue.next();
    const later = (async () => {
      const results = [await waiting];
      results.push(await queue.next());
      return results.map((r) => r.value);
    })();
    queue.push(2);
    await Promise.resolve();
    queue.push(3);
    expect(await later).toEqual([1, 2]);
    expect((await queue.next()).value).toBe(3);
  });

  it("lets the consumer drain what is queued after end, then stops", async () => {
    const queue = new Queue<number>();
    queue.push(1);
    queue.end();
    queue.push(2);
    const seen: number[] = [];
    for await (const item of queue) seen.push(item);
    expect(seen).toEqual([1]);
  });

  it("throws the error it ended with once the queue is drained, then reports the end", async () => {
    const queue = new Queue<number>();
    queue.push(1);
    queue.end(new Error("gone"));
    expect(await queue.next()).toEqual({ value: 1, done: false });
    await expect(queue.next()).rejects.toThrow("gone");
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it("reopens after an end the consumer has not seen, but not after a failure", async () => {
    const queue = new Queue<number>();
    queue.push(1);
    queue.end();
    queue.drain();
    queue.reopen();
    queue.push(2);
    expect(await queue.next()).toEqual({ value: 2, done: false });
    queue.end(new Error("gone"));
    queue.reopen();
    await expect(queue.next()).rejects.toThrow("gone");
  });

  it("wakes a waiting consumer with the error", async () => {
    const queue = new Queue<number>();
    const waiting = queue.next();
    queue.end(new Error("closed"));
    await expect(waiting).rejects.toThrow("closed");
  });

  it("tells its owner when the consumer leaves the loop early", async () => {
    let left = 0;
    const queue = new Queue<number>(() => left++);
    queue.push(1);
    queue.push(2);
    for await (const _ of queue) break;
    expect(left).toBe(1);
    expect(queue.ended).toBe(true);
  });

  it("gives up what was queued when drained", () => {
    const queue = new Queue<number>();
    for (const n of [1, 2, 3]) queue.push(n);
    expect(queue.drain()).toEqual([1, 2, 3]);
    expect(queue.size).toBe(0);
  });
});
