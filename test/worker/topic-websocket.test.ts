import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { version } from "../../package.json";
import { CLOSE_CODES } from "../../src/protocol/ws-frames";
import { freshTopic, text, topicStub, unwrap } from "./helpers";
import { countMessages, openSocket } from "./ws-helpers";

async function subscribed(config = {}) {
  const name = freshTopic();
  const topic = topicStub(name);
  unwrap(await topic.putSubscription("work", { startAt: "earliest", ...config }));
  return { name, topic };
}

describe("WebSocket consumers", () => {
  it("says hello with the broker's release, then pushes published messages with their attempt", async () => {
    const { name, topic } = await subscribed();
    const socket = await openSocket(name, { subscription: "work" });
    await socket.until((f) => f[0]?.type === "hello");
    expect(socket.frames[0]).toMatchObject({ type: "hello", topic: name, subscription: "work", version });
    unwrap(await topic.publish([text("a"), text("b")]));
    await socket.until(countMessages(2));
    expect(socket.messages().map((m) => [m.data, m.attempt])).toEqual([
      ["a", 1],
      ["b", 1],
    ]);
    socket.ws.close(1000);
  });

  it("never exceeds the credit a consumer grants, and sends more as it acks", async () => {
    const { name, topic } = await subscribed();
    const socket = await openSocket(name, { subscription: "work" });
    socket.send({ type: "flow", maxInFlight: 3, id: "f1" });
    await socket.until((f) => f.some((x) => x.type === "ok"));
    unwrap(await topic.publish(Array.from({ length: 10 }, (_, i) => text(`m${i}`))));
    await socket.until(countMessages(3));
    // The push happens before publish answers, so the broker's own count is final here.
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ inFlight: 3, delivered: 3 });
    socket.send({ type: "ack", seqs: [1, 2], id: "a1" });
    await socket.until(countMessages(5));
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ inFlight: 3, delivered: 5 });
    expect(socket.messages().map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    socket.ws.close(1000);
  });

  it("shares a subscription's messages between competing consumers", async () => {
    const { name, topic } = await subscribed();
    const one = await openSocket(name, { subscription: "work" });
    const two = await openSocket(name, { subscription: "work" });
    // Both credits are in force before the publish, so the split below is the broker's, not a race's.
    for (const s of [one, two]) s.send({ type: "flow", maxInFlight: 5, id: "f" });
    for (const s of [one, two]) await s.until((f) => f.some((x) => x.type === "ok" && x.id === "f"));
    unwrap(await topic.publish(Array.from({ length: 10 }, (_, i) => text(`m${i}`))));
    await one.until(() => one.messages().length + two.messages().length >= 10);
    const seqs = [...one.messages(), ...two.messages()].map((m) => m.seq).sort((a, b) => a - b);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(one.messages().length).toBe(5);
    expect(two.messages().length).toBe(5);
    one.ws.close(1000);
    two.ws.close(1000);
  });

  it("hands a departed consumer's unacked messages to the others at once", async () => {
    const { name, topic } = await subscribed();
    const leaver = await openSocket(name, { subscription: "work" });
    unwrap(await topic.publish([text("x")]));
    await leaver.until(countMessages(1));
    const stayer = await openSocket(name, { subscription: "work" });
    await stayer.until((f) => f[0]?.type === "hello");
    leaver.ws.close(1000);
    await stayer.until(countMessages(1));
    expect(stayer.messages()[0]).toMatchObject({ data: "x", attempt: 2 });
    stayer.ws.close(1000);
  });

  it("acks, nacks and publishes over the socket", async () => {
    const { name, topic } = await subscribed();
    const socket = await openSocket(name, { subscription: "work" });
    socket.send({ type: "publish", id: "p1", data: { hello: "world" } });
    await socket.until((f) => f.some((x) => x.type === "published"));
    expect(socket.frames.find((f) => f.type === "published")).toMatchObject({
      id: "p1",
      seq: 1,
      duplicate: false,
    });
    await socket.until(countMessages(1));
    socket.send({ type: "nack", seqs: [1], delay: 0 });
    await socket.until(countMessages(2));
    expect(socket.messages()[1]).toMatchObject({ seq: 1, attempt: 2, data: { hello: "world" } });
    socket.send({ type: "ack", seqs: [1], id: "ack-1" });
    await socket.until((f) => f.some((x) => x.type === "ok" && x.id === "ack-1"));
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ backlog: 0, acked: 1 });
    socket.ws.close(1000);
  });

  it("answers a malformed or unknown frame with an error and writes nothing", async () => {
    const { name, topic } = await subscribed();
    const socket = await openSocket(name, { subscription: "work" });
    socket.ws.send("{not json");
    socket.send({ type: "teleport", id: "x" });
    socket.send({ type: "publish", id: "bad", data: 1, dataBase64: "AA==" });
    await socket.until((f) => f.filter((x) => x.type === "error").length >= 3);
    const errors = socket.frames.filter((f) => f.type === "error");
    expect(errors.map((e) => e.type === "error" && e.code)).toEqual([
      "invalid_request",
      "invalid_request",
      "invalid_request",
    ]);
    expect(unwrap(await topic.info()).stats.lastSeq).toBe(0);
    socket.ws.close(1000);
  });

  it("refuses publish frames from a socket without the publish right", async () => {
    const { name, topic } = await subscribed();
    const socket = await openSocket(name, { subscription: "work", canPublish: false });
    socket.send({ type: "publish", id: "p", data: "nope" });
    await socket.until((f) => f.some((x) => x.type === "error"));
    expect(socket.frames.find((f) => f.type === "error")).toMatchObject({ code: "forbidden", id: "p" });
    expect(unwrap(await topic.info()).stats.lastSeq).toBe(0);
  });

  it("closes with 4004 for a subscription that does not exist", async () => {
    const { name } = await subscribed();
    const socket = await openSocket(name, { subscription: "nope" });
    expect((await socket.closed).code).toBe(CLOSE_CODES.NOT_FOUND);
  });

  it("closes consumers with 4001 when their subscription is deleted", async () => {
    const { name, topic } = await subscribed();
    const socket = await openSocket(name, { subscription: "work" });
    await socket.until((f) => f[0]?.type === "hello");
    unwrap(await topic.deleteSubscription("work"));
    expect((await socket.closed).code).toBe(CLOSE_CODES.SUBSCRIPTION_DELETED);
  });

  it("keeps delivering to a hibernated socket after the object is evicted", async () => {
    const { name, topic } = await subscribed();
    const socket = await openSocket(name, { subscription: "work" });
    unwrap(await topic.publish([text("before")]));
    await socket.until(countMessages(1));
    await evictDurableObject(topic, { webSockets: "hibernate" });
    unwrap(await topic.publish([text("after")]));
    await socket.until(countMessages(2));
    socket.send({ type: "ack", seqs: [1, 2], id: "a" });
    await socket.until((f) => f.some((x) => x.type === "ok"));
    expect(socket.messages().map((m) => m.data)).toEqual(["before", "after"]);
    expect(unwrap(await topic.getSubscription("work")).stats).toMatchObject({ backlog: 0, consumers: 1 });
    socket.ws.close(1000);
  });
});

describe("live tail", () => {
  it("starts at the tail without after, and replays the backlog with after", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("old1"), text("old2")]));
    const fromNow = await openSocket(name);
    const replay = await openSocket(name, { after: 0 });
    await fromNow.until((f) => f[0]?.type === "hello");
    expect(fromNow.frames[0]).toMatchObject({ type: "hello", after: 2, version });
    unwrap(await topic.publish([text("new")]));
    await fromNow.until(countMessages(1));
    await replay.until(countMessages(3));
    expect(fromNow.messages().map((m) => m.data)).toEqual(["new"]);
    expect(replay.messages().map((m) => m.data)).toEqual(["old1", "old2", "new"]);
    fromNow.ws.close(1000);
    replay.ws.close(1000);
  });

  it("resumes after a reconnect with no gap and no duplicate", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("1")]));
    const first = await openSocket(name, { after: 0 });
    await first.until(countMessages(1));
    first.ws.close(1000);
    await first.closed;
    unwrap(await topic.publish([text("2"), text("3")]));
    const last = first.messages().at(-1)?.seq as number;
    const second = await openSocket(name, { after: last });
    await second.until(countMessages(2));
    expect(second.messages().map((m) => m.data)).toEqual(["2", "3"]);
    second.ws.close(1000);
  });

  it("reports an epoch change instead of resuming across a re-created topic", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("1")]));
    const old = unwrap(await topic.info()).epoch;
    unwrap(await topic.destroy());
    unwrap(await topic.publish([text("fresh")]));
    const socket = await openSocket(name, { after: 1, epoch: old });
    expect((await socket.closed).code).toBe(CLOSE_CODES.EPOCH_CHANGED);
  });

  it("catches a tail up on a backlog larger than a page", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish(Array.from({ length: 1_200 }, (_, i) => text(String(i)))));
    const socket = await openSocket(name, { after: 0 });
    await socket.until(countMessages(1_200), 10_000);
    const seqs = socket.messages().map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 1_200 }, (_, i) => i + 1));
    socket.ws.close(1000);
  });
});

describe("limits", () => {
  it("refuses a socket past the topic's cap with 1013 and rate_limited", async () => {
    const name = freshTopic();
    unwrap(await topicStub(name).publish([text("x")]));
    const open = [];
    for (let i = 0; i < 20; i++) open.push(await openSocket(name));
    const refused = await openSocket(name);
    const closed = await refused.closed;
    expect(closed.code).toBe(CLOSE_CODES.TRY_AGAIN_LATER);
    expect(refused.frames[0]).toMatchObject({ type: "error", code: "rate_limited" });
    for (const socket of open) socket.ws.close(1000);
  });
});
