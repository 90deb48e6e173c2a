/**
 * Sessions (`GET /v1/ws`) inside workerd: one socket, many subscriptions — live tails, consumers
 * and prefix patterns — each refused or ended alone, fed by their topics like relays.
 */
import { createExecutionContext, evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { hs256, nowS, SECRET } from "./auth-fixtures";
import { freshTopic, text, topicStub, unwrap } from "./helpers";

type Frame = { type: string; id?: string; topic?: string; subscription?: string; [k: string]: unknown };
type Wire = { seq: number; data?: unknown };

/** A session socket through the worker, recording every frame it receives. */
async function openSession(token?: string, vars: Partial<Env> = {}) {
  const headers: Record<string, string> = {
    Upgrade: "websocket",
    "Sec-WebSocket-Protocol": token === undefined ? "edge-broker.v1" : `edge-broker.v1, bearer.${token}`,
  };
  const config =
    token === undefined ? { ...env, ...vars } : { ...env, AUTH: "required", JWT_SECRET: SECRET, ...vars };
  const res = await app.fetch(
    new Request("http://broker/v1/ws", { headers }),
    config as Env,
    createExecutionContext(),
  );
  expect(res.status).toBe(101);
  const ws = res.webSocket as WebSocket;
  const frames: Frame[] = [];
  const listeners = new Set<() => void>();
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
    for (const l of listeners) l();
  });
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
  ws.accept();
  const until = (ok: (f: Frame[]) => boolean, ms = 10_000) =>
    new Promise<Frame[]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out: ${JSON.stringify(frames).slice(-600)}`)),
        ms,
      );
      const check = () => {
        if (!ok(frames)) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve(frames);
      };
      listeners.add(check);
      check();
    });
  const messages = (id: string) =>
    frames
      .filter((f) => f.type === "messages" && f.id === id)
      .flatMap((f) => (f.messages as Wire[]).map((m) => ({ ...m, topic: f.topic as string })));
  const send = (frame: object) => ws.send(JSON.stringify(frame));
  const answered = (id: string) =>
    until((f) => f.some((x) => x.id === id && (x.type === "ok" || x.type === "error")));
  return { ws, frames, closed, until, messages, send, answered };
}

describe("a session (/v1/ws)", { timeout: 30_000 }, () => {
  it("says hello, then carries 50 topics of live tails and consumers on one socket, every message once with its topic", async () => {
    const session = await openSession();
    await session.until((f) => f[0]?.type === "hello");
    const topics = Array.from({ length: 50 }, () => freshTopic("s"));
    for (const [i, topic] of topics.entries()) {
      if (i % 2 === 0) {
        unwrap(await topicStub(topic).putSubscription("work", { startAt: "earliest" }));
        session.send({ type: "subscribe", id: `c${i}`, topic, subscription: "work" });
      } else {
        unwrap(await topicStub(topic).putConfig({}));
        session.send({ type: "subscribe", id: `t${i}`, topic });
      }
    }
    await session.until((f) => f.filter((x) => x.type === "subscribed").length === 50);
    for (const topic of topics)
      unwrap(await topicStub(topic).publish([text(`${topic}:1`), text(`${topic}:2`)]));
    for (const [i, topic] of topics.entries()) {
      const id = i % 2 === 0 ? `c${i}` : `t${i}`;
      await session.until(() => session.messages(id).length >= 2);
      expect(session.messages(id)).toEqual([
        expect.objectContaining({ seq: 1, data: `${topic}:1`, topic }),
        expect.objectContaining({ seq: 2, data: `${topic}:2`, topic }),
      ]);
    }
    // Acks reach the subscription they name, and only it.
    session.send({ type: "ack", id: "a0", topic: topics[0], subscription: "work", seqs: [1, 2] });
    await session.answered("a0");
    expect(session.frames.find((f) => f.id === "a0")).toEqual({ type: "ok", id: "a0" });
    expect(unwrap(await topicStub(topics[0] as string).getSubscription("work")).stats).toMatchObject({
      acked: 2,
      inFlight: 0,
      consumers: 1,
    });
    expect(unwrap(await topicStub(topics[2] as string).getSubscription("work")).stats).toMatchObject({
      acked: 0,
      inFlight: 2,
    });
    const consumerFrame = session.frames.find((f) => f.type === "messages" && f.id === "c0");
    expect(consumerFrame).toMatchObject({ topic: topics[0], subscription: "work" });
    session.ws.close(1000);
  });

  it("refuses a forbidden topic alone: the session and its other subscriptions go on", async () => {
    const allowed = freshTopic("ok");
    const token = await hs256({ cap: { [allowed]: ["subscribe"] }, exp: nowS() + 600 });
    const session = await openSession(token);
    session.send({ type: "subscribe", id: "no", topic: freshTopic("secret") });
    session.send({ type: "subscribe", id: "no-pattern", topic: "ok*" });
    session.send({ type: "subscribe", id: "yes", topic: allowed });
    await session.until((f) => f.some((x) => x.type === "subscribed" && x.id === "yes"));
    expect(session.frames.filter((f) => f.type === "error").map((f) => [f.id, f.code])).toEqual([
      ["no", "forbidden"],
      ["no-pattern", "forbidden"],
    ]);
    unwrap(await topicStub(allowed).publish([text("still here")]));
    await session.until(() => session.messages("yes").length === 1);
    session.ws.close(1000);
  });

  it("waits for a topic that does not exist yet, then gets its epoch and its first message", async () => {
    const topic = freshTopic("later");
    const session = await openSession();
    session.send({ type: "subscribe", id: "w", topic });
    await session.until((f) => f.some((x) => x.type === "subscribed"));
    expect(session.frames.find((f) => f.type === "subscribed")).toMatchObject({
      id: "w",
      epoch: null,
      after: 0,
    });
    unwrap(await topicStub(topic).publish([text("first")]));
    await session.until(() => session.messages("w").length === 1);
    const { epoch } = unwrap(await topicStub(topic).info());
    const subscribed = session.frames.filter((f) => f.type === "subscribed");
    expect(subscribed.map((f) => f.epoch)).toEqual([null, epoch]);
    expect(session.messages("w")).toEqual([expect.objectContaining({ seq: 1, data: "first", topic })]);
    session.ws.close(1000);
  });

  it("follows a prefix pattern: the topics that match now, and one created after the subscribe", async () => {
    const prefix = `room-${crypto.randomUUID().slice(0, 6)}.`;
    const before = `${prefix}a`;
    unwrap(await topicStub(before).putConfig({}));
    const session = await openSession();
    session.send({ type: "subscribe", id: "p", topic: `${prefix}*` });
    await session.until((f) => f.some((x) => x.type === "subscribed"));
    unwrap(await topicStub(before).publish([text("in a")]));
    const later = `${prefix}b`;
    unwrap(await topicStub(later).publish([text("first in b")]));
    await session.until(() => session.messages("p").length === 2);
    expect(session.messages("p").map((m) => [m.topic, m.seq, m.data])).toEqual(
      expect.arrayContaining([
        [before, 1, "in a"],
        [later, 1, "first in b"],
      ]),
    );
    session.ws.close(1000);
  });

  it("resumes a tail after `after`, refuses another epoch, and holds at most its cap of subscriptions", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).publish([text("1"), text("2"), text("3")]));
    const { epoch } = unwrap(await topicStub(topic).info());
    const session = await openSession(undefined, { MAX_SUBSCRIPTIONS_PER_SESSION: "2" } as Partial<Env>);
    session.send({ type: "subscribe", id: "r", topic, after: 1, epoch });
    session.send({ type: "subscribe", id: "old", topic, after: 1, epoch: "an-old-epoch" });
    session.send({ type: "subscribe", id: "x", topic: freshTopic() });
    session.send({ type: "subscribe", id: "y", topic: freshTopic() });
    await session.until(() => session.messages("r").length === 2);
    await session.until((f) => f.filter((x) => x.type === "error").length === 2);
    expect(session.messages("r").map((m) => m.seq)).toEqual([2, 3]);
    expect(session.frames.filter((f) => f.type === "error").map((f) => [f.id, f.code])).toEqual([
      ["old", "conflict"],
      ["y", "rate_limited"],
    ]);
    session.ws.close(1000);
  });

  it("releases what its consumers held when its socket closes, and unsubscribes one alone", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).putSubscription("work", { startAt: "earliest" }));
    unwrap(await topicStub(topic).publish([text("a"), text("b")]));
    const session = await openSession();
    session.send({ type: "subscribe", id: "c", topic, subscription: "work", maxInFlight: 1 });
    await session.until(() => session.messages("c").length === 1);
    expect(unwrap(await topicStub(topic).getSubscription("work")).stats.inFlight).toBe(1);
    session.send({ type: "unsubscribe", id: "c" });
    await session.answered("c");
    expect(unwrap(await topicStub(topic).getSubscription("work")).stats).toMatchObject({
      inFlight: 0,
      consumers: 0,
    });

    session.send({ type: "subscribe", id: "c2", topic, subscription: "work", maxInFlight: 5 });
    await session.until(() => session.messages("c2").length === 2);
    session.ws.close(1000);
    await session.closed;
    const deadline = Date.now() + 5_000;
    let stats = unwrap(await topicStub(topic).getSubscription("work")).stats;
    while (stats.consumers > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stats = unwrap(await topicStub(topic).getSubscription("work")).stats;
    }
    expect(stats).toMatchObject({ inFlight: 0, consumers: 0, acked: 0 });
  });

  it("keeps delivering after the session's object is evicted with its socket hibernated", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).putConfig({}));
    const session = await openSession();
    await session.until((f) => f[0]?.type === "hello");
    const name = session.frames[0]?.session as string;
    session.send({ type: "subscribe", id: "t", topic });
    await session.until((f) => f.some((x) => x.type === "subscribed"));
    unwrap(await topicStub(topic).publish([text("before")]));
    await session.until(() => session.messages("t").length === 1);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // its position is written within a second
    await evictDurableObject(env.EDGE.getByName(name), { webSockets: "hibernate" });
    unwrap(await topicStub(topic).publish([text("after")]));
    await session.until(() => session.messages("t").length === 2);
    expect(session.messages("t").map((m) => m.data)).toEqual(["before", "after"]);
    session.ws.close(1000);
  });
});
