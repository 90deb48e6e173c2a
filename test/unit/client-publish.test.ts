import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker } from "../../src/client/client";
import { BrokerError } from "../../src/client/errors";
import { batchEntry, encodeData, rawPublish } from "../../src/client/publish";
import { problem } from "../../src/protocol/errors";
import { fromBase64 } from "../../src/protocol/message";

describe("encodeData", () => {
  it("sends strings as UTF-8 text, bytes as octet-stream, everything else as JSON", () => {
    expect(encodeData("hi")).toEqual({ body: "hi", contentType: "text/plain;charset=utf-8" });
    expect(encodeData(new Uint8Array([1, 2]))).toEqual({
      body: new Uint8Array([1, 2]),
      contentType: "application/octet-stream",
    });
    expect(encodeData(new Uint8Array([1, 2, 3]).buffer)).toEqual({
      body: new Uint8Array([1, 2, 3]),
      contentType: "application/octet-stream",
    });
    expect(encodeData({ a: [1, null] })).toEqual({ body: '{"a":[1,null]}', contentType: "application/json" });
    expect(encodeData(0)).toEqual({ body: "0", contentType: "application/json" });
    expect(encodeData(null)).toEqual({ body: "null", contentType: "application/json" });
  });

  it("keeps the bytes of a view into a larger buffer, and only those", () => {
    const buffer = new Uint8Array([9, 1, 2, 9]).buffer;
    expect(encodeData(new DataView(buffer, 1, 2)).body).toEqual(new Uint8Array([1, 2]));
  });

  it("lets contentType override the type without changing the bytes", () => {
    expect(encodeData('{"raw":true}', "application/json")).toEqual({
      body: '{"raw":true}',
      contentType: "application/json",
    });
  });

  it("refuses undefined, which has no body", () => {
    expect(() => encodeData(undefined as never)).toThrow(TypeError);
  });
});

describe("rawPublish", () => {
  it("puts attributes and the idempotency key in headers and delay and key in the query", () => {
    const raw = rawPublish("x", {
      attributes: { region: "eu-west" },
      idempotencyKey: "k-1",
      delay: "5m",
      key: "cust-7",
    });
    expect(raw).toEqual({
      body: "x",
      headers: {
        "content-type": "text/plain;charset=utf-8",
        "x-attr-region": "eu-west",
        "idempotency-key": "k-1",
      },
      query: { delay: "5m", key: "cust-7" },
    });
  });

  it.each([
    ["an attribute name with capitals", { attributes: { Region: "eu" } }],
    ["an attribute value beyond ASCII", { attributes: { city: "Zürich" } }],
    ["an attribute value with surrounding spaces", { attributes: { note: " padded " } }],
    ["an idempotency key beyond ASCII", { idempotencyKey: "clé" }],
  ])("leaves %s to the batch endpoint, which keeps it exactly", (_, options) => {
    expect(rawPublish("x", options)).toBeUndefined();
  });
});

describe("batchEntry", () => {
  const text = (base64: string | undefined) => new TextDecoder().decode(fromBase64(base64 ?? ""));

  it("sends JSON values and text as data, where they round-trip", () => {
    expect(batchEntry({ data: { n: 1 } })).toEqual({ data: { n: 1 }, contentType: "application/json" });
    expect(batchEntry({ data: "hello" })).toEqual({ data: "hello", contentType: "text/plain;charset=utf-8" });
  });

  it("sends bytes, JSON text in a string and odd pairings as base64", () => {
    expect(batchEntry({ data: new Uint8Array([0, 255]) })).toEqual({
      dataBase64: "AP8=",
      contentType: "application/octet-stream",
    });
    const jsonText = batchEntry({ data: '{"a":1}', contentType: "application/json" });
    expect(text(jsonText.dataBase64)).toBe('{"a":1}');
    const objectAsText = batchEntry({ data: { a: 1 }, contentType: "text/plain" });
    expect(text(objectAsText.dataBase64)).toBe('{"a":1}');
  });

  it("carries the options of the message", () => {
    const entry = batchEntry({ data: 1, attributes: { A: "b" }, key: "k", delay: 10, idempotencyKey: "i" });
    expect(entry).toEqual({
      data: 1,
      contentType: "application/json",
      attributes: { A: "b" },
      key: "k",
      delay: 10,
      idempotencyKey: "i",
    });
  });
});

/** A loopback HTTP server that records requests and answers as the test tells it. */
interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

describe("Broker over HTTP", () => {
  let server: Server;
  let base: string;
  const requests: Recorded[] = [];
  let answer: (request: Recorded) => { status: number; type: string; body: string } = () => ({
    status: 201,
    type: "application/json",
    body: JSON.stringify({ seq: 1, id: "m1", duplicate: false }),
  });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const recorded = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        requests.push(recorded);
        const { status, type, body } = answer(recorded);
        res.writeHead(status, { "content-type": type }).end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/broker`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const last = () => requests.at(-1) as Recorded;

  it("publishes the raw body with headers, under the base URL's path", async () => {
    const topic = `t-${crypto.randomUUID()}`;
    const broker = new Broker({ url: base, token: "secret-token" });
    const receipt = await broker.publish(topic, new Uint8Array([0, 1, 2]), {
      attributes: { kind: "blob" },
      delay: "1s",
      idempotencyKey: "once",
    });
    expect(receipt).toEqual({ seq: 1, id: "m1", duplicate: false });
    const request = last();
    expect(request.method).toBe("POST");
    expect(request.url).toBe(`/broker/v1/topics/${topic}/messages?delay=1s`);
    expect(request.headers).toMatchObject({
      authorization: "Bearer secret-token",
      "content-type": "application/octet-stream",
      "x-attr-kind": "blob",
      "idempotency-key": "once",
    });
    expect([...request.body]).toEqual([0, 1, 2]);
  });

  it("asks the token provider before every request", async () => {
    let calls = 0;
    const broker = new Broker({ url: base, token: async () => `token-${++calls}` });
    const topic = `t-${crypto.randomUUID()}`;
    await broker.publish(topic, "a");
    await broker.publish(topic, "b");
    expect(last().headers.authorization).toBe("Bearer token-2");
  });

  it("publishes a message with capitalised attributes as a batch of one", async () => {
    answer = () => ({
      status: 201,
      type: "application/json",
      body: JSON.stringify({ messages: [{ seq: 4, id: "m4", duplicate: true }] }),
    });
    const topic = `t-${crypto.randomUUID()}`;
    const receipt = await new Broker({ url: base }).publish(
      topic,
      { n: 1 },
      { attributes: { Region: "eu" } },
    );
    expect(receipt).toEqual({ seq: 4, id: "m4", duplicate: true });
    expect(last().url).toBe(`/broker/v1/topics/${topic}/batch`);
    expect(JSON.parse(last().body.toString())).toEqual({
      messages: [{ data: { n: 1 }, contentType: "application/json", attributes: { Region: "eu" } }],
    });
  });

  it("throws the broker's problem as a BrokerError", async () => {
    answer = () => ({
      status: 507,
      type: "application/problem+json",
      body: JSON.stringify(problem("topic_full", "topic is full")),
    });
    const failure = await new Broker({ url: base })
      .publish(`t-${crypto.randomUUID()}`, "x")
      .catch((error) => error);
    expect(failure).toBeInstanceOf(BrokerError);
    expect(failure).toMatchObject({ code: "topic_full", status: 507, detail: "topic is full" });
  });

  it("reports a broker that cannot be reached as a network error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const failure = await new Broker({ url: `http://127.0.0.1:${port}` })
      .publish("t-unreachable", "x")
      .catch((e) => e);
    expect(failure).toMatchObject({ code: "network" });
    expect(failure.retryable).toBe(true);
  });

  it("refuses an invalid topic name before sending anything", async () => {
    const count = requests.length;
    expect(() => new Broker({ url: base }).subscribe("bad name", "s")).toThrow(BrokerError);
    await expect(new Broker({ url: base }).publish("bad name", "x")).rejects.toMatchObject({
      code: "invalid_name",
    });
    expect(requests.length).toBe(count);
  });
});
