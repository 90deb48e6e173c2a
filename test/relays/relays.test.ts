/**
 * Relays in workerd (the `relays` project: a relay per 100 sockets, 2,200 sockets a topic, 150 a
 * client): live tails past the topic's own 100 go to relays, each publish reaches every socket
 * once and in order, evicted relays resume by seq, and the caps hold across relays.
 */
import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { relayName } from "../../src/protocol/edge-rpc";
import { CLOSE_CODES } from "../../src/protocol/ws-frames";
import { freshTopic, text, topicStub, unwrap } from "../worker/helpers";
import { openSocket, type TestSocket } from "../worker/ws-helpers";

const PER_RELAY = 100;

/** Opens `n` live tails on a topic, a few at a time. */
async function tails(topic: string, n: number, options = {}): Promise<TestSocket[]> {
  const sockets: TestSocket[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => openSocket(topic, options));
    sockets.push(...(await Promise.all(batch)));
  }
  await Promise.all(sockets.map((s) => s.until((f) => f.length >= 1, 20_000)));
  return sockets;
}

const seqs = (socket: TestSocket) => socket.messages().map((m) => m.seq);

/** Waits until every socket received `n` messages. */
const allReceived = (sockets: TestSocket[], n: number) =>
  Promise.all(sockets.map((s) => s.until(() => s.messages().length >= n, 30_000)));

const relay = (topic: string, index: number) => env.EDGE.getByName(relayName(topic, "near", index));

describe("relays", () => {
  it("hand 2,000 live tails to 20 relays past the topic's own 100: each publish reaches every socket once, in order", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).putConfig({}));
    const sockets = await tails(topic, 2_100);
    const info = unwrap(await topicStub(topic).info());
    expect(info.stats.sockets).toBe(2_100);
    expect(info.stats.relays).toEqual({ count: 20, sockets: 2_000 });
    for (let i = 0; i < 20; i++) expect((await relay(topic, i).audience(topic))[0]?.sockets).toBe(PER_RELAY);

    for (const body of ["one", "two", "three"]) unwrap(await topicStub(topic).publish([text(body)]));
    await allReceived(sockets, 3);
    for (const socket of sockets) expect(seqs(socket)).toEqual([1, 2, 3]);
    // Every socket was told where it started, by the topic or by its relay alike.
    for (const socket of sockets) expect(socket.frames[0]).toMatchObject({ type: "hello", topic, after: 0 });
    for (const socket of sockets) socket.ws.close(1000);
  });

  it("lose and double nothing when relays are evicted mid-stream", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).putConfig({}));
    const sockets = await tails(topic, 400);
    const published: number[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 5; i++) {
        const [receipt] = unwrap(await topicStub(topic).publish([text(`m${round}.${i}`)]));
        published.push(receipt?.seq as number);
      }
      // Evict relays while batches are on their way to them.
      await Promise.all(
        [0, 1, 2].map((i) => evictDurableObject(relay(topic, i), { webSockets: "hibernate" })),
      );
    }
    await allReceived(sockets, published.length);
    await new Promise((resolve) => setTimeout(resolve, 200)); // anything doubled would show by now
    for (const socket of sockets) expect(seqs(socket)).toEqual(published);
    for (const socket of sockets) socket.ws.close(1000);
  });

  it("resume a tail from `after` through the topic's log, then go on live", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).publish([text("a"), text("b"), text("c")]));
    const direct = await tails(topic, PER_RELAY);
    const [relayed] = await tails(topic, 1, { after: 1 });
    unwrap(await topicStub(topic).publish([text("d")]));
    await allReceived([relayed as TestSocket], 3);
    expect(relayed?.messages().map((m) => m.data)).toEqual(["b", "c", "d"]);
    expect(unwrap(await topicStub(topic).info()).stats.relays.count).toBe(1);
    for (const socket of [...direct, relayed as TestSocket]) socket.ws.close(1000);
  });

  it("count one client across the topic and its relays", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).putConfig({}));
    const anonymous = await tails(topic, PER_RELAY);
    const mine = await tails(topic, 150, { subject: "sub:greedy" });
    expect(unwrap(await topicStub(topic).info()).stats.relays.sockets).toBe(150);
    const oneMore = await openSocket(topic, { subject: "sub:greedy" });
    expect((await oneMore.closed).code).toBe(CLOSE_CODES.TRY_AGAIN_LATER);
    // A place freed in a relay is free for the client again.
    mine[0]?.ws.close(1000);
    const deadline = Date.now() + 5_000;
    while (unwrap(await topicStub(topic).info()).stats.relays.sockets > 149 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const again = await openSocket(topic, { subject: "sub:greedy" });
    await again.until((f) => f[0]?.type === "hello");
    for (const socket of [...anonymous, ...mine.slice(1), again]) socket.ws.close(1000);
  });

  it("take publish frames on relayed sockets, and close them with 4000 when the topic is deleted", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).putConfig({}));
    const direct = await tails(topic, PER_RELAY);
    const [relayed] = await tails(topic, 1);
    relayed?.send({ type: "publish", id: "p", data: { from: "a relay" } });
    await relayed?.until((f) => f.some((x) => x.type === "published"));
    expect(relayed?.frames.find((f) => f.type === "published")).toMatchObject({ id: "p", seq: 1 });
    await allReceived(direct, 1);
    unwrap(await topicStub(topic).destroy());
    expect((await relayed?.closed)?.code).toBe(CLOSE_CODES.TOPIC_DELETED);
    expect((await direct[0]?.closed)?.code).toBe(CLOSE_CODES.TOPIC_DELETED);
  });

  it("place a client's relay by the continent its request came from", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).putConfig({}));
    const direct = await tails(topic, PER_RELAY);
    const res = await exports.default.fetch(
      new Request(`http://broker/v1/topics/${topic}/ws`, {
        headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "edge-broker.v1" },
        cf: { continent: "OC", longitude: "151.2" },
      }),
    );
    const ws = res.webSocket as WebSocket;
    ws.accept();
    const oc = env.EDGE.getByName(relayName(topic, "oc", 0));
    expect(await oc.audience(topic)).toEqual([{ subject: "", privileged: false, sockets: 1 }]);
    ws.close(1000);
    for (const socket of direct) socket.ws.close(1000);
  });
});
