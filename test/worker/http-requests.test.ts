import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import type { ReplyMessage, WireMessage } from "../../src/protocol/message";
import type { ServerFrame } from "../../src/protocol/ws-frames";
import { ADMIN_KEY, hs256, nowS, SECRET } from "./auth-fixtures";
import { eventually, freshTopic } from "./helpers";
import { call, expectJson, expectProblem, readAll } from "./http-support";
import { countMessages, openSocket } from "./ws-helpers";

const json = { "content-type": "application/json" };

/** A topic with a subscription that sees everything: someone could answer. */
async function served(filter?: unknown): Promise<string> {
  const topic = freshTopic("svc");
  const config = filter === undefined ? {} : { filter };
  await expectJson(await call("PUT", `/v1/topics/${topic}/subscriptions/workers`, { json: config }), 201);
  return topic;
}

const request = (
  topic: string,
  body: unknown,
  query = "timeout=5s",
  headers: Record<string, string> = json,
) => call("POST", `/v1/topics/${topic}/requests?${query}`, { body: JSON.stringify(body), headers });

/** Pulls the next request from the subscription (waiting for it to be published). */
async function nextRequest(topic: string): Promise<WireMessage> {
  const pulled = await expectJson<{ messages: WireMessage[] }>(
    await call("POST", `/v1/topics/${topic}/subscriptions/workers/pull`, { json: { max: 1, wait: "5s" } }),
    200,
  );
  const [message] = pulled.messages;
  if (!message) throw new Error("no request arrived");
  return message;
}

const reply = (replyTo: string, body: unknown, headers: Record<string, string> = json) =>
  call("POST", `/v1/replies/${replyTo}`, { body: JSON.stringify(body), headers });

describe("POST /v1/topics/{topic}/requests", () => {
  it("answers with the first reply, as on the wire, carrying the request's correlationId", async () => {
    const topic = await served();
    const asked = request(topic, { sku: "BK-1" }, "timeout=5s", { ...json, "correlation-id": "check-1" });
    const message = await nextRequest(topic);
    expect(message).toMatchObject({
      data: { sku: "BK-1" },
      correlationId: "check-1",
      replyTo: expect.stringMatching(/^_reply\.[0-9a-f]{32}$/),
    });
    const delivered = await reply(
      message.replyTo as string,
      { inStock: true },
      { ...json, "x-attr-warehouse": "north" },
    );
    expect(await expectJson(delivered, 200)).toEqual({ delivered: true });
    const answer = await expectJson<ReplyMessage>(await asked, 200);
    expect(answer).toEqual({
      id: expect.any(String),
      publishedAt: expect.any(Number),
      contentType: "application/json",
      attributes: { warehouse: "north" },
      correlationId: "check-1",
      data: { inStock: true },
    });
  });

  it("times out with 504 reply_timeout, and refuses a late reply with 410 gone", async () => {
    const topic = await served();
    const problem = await expectProblem(
      await request(topic, { sku: "x" }, "timeout=100ms"),
      504,
      "reply_timeout",
    );
    expect(problem.detail).toContain("no reply within 100ms");
    const late = await nextRequest(topic);
    await expectProblem(await reply(late.replyTo as string, { late: true }), 410, "gone");
  });

  it("lets the first of two responders win; the second is told the requester is gone", async () => {
    const topic = await served();
    const asked = request(topic, { q: 1 });
    const { replyTo } = await nextRequest(topic);
    await expectJson(await reply(replyTo as string, { from: "first" }), 200);
    await expectProblem(await reply(replyTo as string, { from: "second" }), 410, "gone");
    expect((await expectJson<ReplyMessage>(await asked, 200)).data).toEqual({ from: "first" });
  });

  it("is refused at once with 503 no_responders when no subscription could see it, storing nothing", async () => {
    const lonely = freshTopic("lonely");
    await expectJson(await call("PUT", `/v1/topics/${lonely}`, { json: {} }), 201);
    await expectProblem(await request(lonely, { q: 1 }), 503, "no_responders");
    const picky = await served({ attributes: { region: "eu" } });
    await expectProblem(
      await request(picky, { q: 1 }, "timeout=30s", { ...json, "x-attr-region": "us" }),
      503,
      "no_responders",
    );
    expect(await readAll(picky)).toEqual([]);
    expect(await readAll(lonely)).toEqual([]);
  });

  it("refuses a timeout past 30 s and a Reply-To header, before publishing", async () => {
    const topic = await served();
    await expectProblem(await request(topic, {}, "timeout=31s"), 400, "invalid_request");
    await expectProblem(
      await request(topic, {}, "timeout=1s", { ...json, "reply-to": "elsewhere" }),
      400,
      "invalid_request",
    );
    expect(await readAll(topic)).toEqual([]);
  });
});

describe("durable replies", () => {
  it("are published to the reply topic with the request's correlationId", async () => {
    const [topic, replies] = [freshTopic("orders"), freshTopic("order-replies")];
    await expectJson(
      await call("POST", `/v1/topics/${topic}/messages`, {
        body: '{"order": 7}',
        headers: { ...json, "reply-to": replies, "correlation-id": "order-7" },
      }),
      201,
    );
    const [order] = await readAll(topic);
    expect(order).toMatchObject({ replyTo: replies, correlationId: "order-7" });
    const answered = await reply(
      replies,
      { shipped: true },
      { ...json, "correlation-id": "order-7", "idempotency-key": "ship-7" },
    );
    expect(await expectJson(answered, 201)).toMatchObject({ seq: 1, duplicate: false });
    expect(await readAll(replies)).toEqual([
      expect.objectContaining({ correlationId: "order-7", data: { shipped: true } }),
    ]);
    await expectProblem(await reply("no spaces", {}), 400, "invalid_name");
  });
});

describe("request and reply frames", () => {
  it("ask over one socket and answer over another", async () => {
    const topic = await served();
    const responder = await openSocket(topic, { subscription: "workers" });
    const requester = await openSocket(topic);
    await responder.until((f) => f.some((frame) => frame.type === "hello"));
    requester.send({
      type: "request",
      id: "r1",
      timeout: "5s",
      message: { data: { sku: "BK-1" }, correlationId: "c1" },
    });
    await responder.until(countMessages(1));
    const [asked] = responder.messages();
    expect(asked).toMatchObject({ data: { sku: "BK-1" }, correlationId: "c1" });
    responder.send({
      type: "reply",
      id: "a1",
      replyTo: asked?.replyTo,
      message: { data: { inStock: true } },
    });
    const frames = await requester.until((f) => f.some((frame) => frame.type === "reply"));
    expect(frames.find((f) => f.type === "reply")).toMatchObject({
      id: "r1",
      message: { data: { inStock: true }, correlationId: "c1" },
    });
    await responder.until((f) => f.some((frame) => frame.type === "ok" && frame.id === "a1"));
    // A second reply to the same request finds nobody.
    responder.send({ type: "reply", id: "a2", replyTo: asked?.replyTo, message: { data: { again: true } } });
    await responder.until((f) =>
      f.some((frame) => frame.type === "error" && frame.id === "a2" && frame.code === "gone"),
    );
    responder.ws.close(1000);
    requester.ws.close(1000);
  });

  it("cancel a request whose socket closes: its reply is gone", async () => {
    const topic = await served();
    const requester = await openSocket(topic);
    requester.send({ type: "request", id: "r1", timeout: "20s", message: { data: { q: 1 } } });
    const asked = await nextRequest(topic);
    requester.ws.close(1000);
    await eventually(async () => (await reply(asked.replyTo as string, { late: true })).status === 410);
  });

  it("refuse a request frame without the publish right, and a reply frame to a topic", async () => {
    const topic = await served();
    const socket = await openSocket(topic, { canPublish: false });
    socket.send({ type: "request", id: "r1", message: { data: 1 } });
    socket.send({ type: "reply", id: "a1", replyTo: "order-replies", message: { data: 1 } });
    const frames = await socket.until((f) => f.filter((frame) => frame.type === "error").length === 2);
    const errors = frames.filter((f): f is Extract<ServerFrame, { type: "error" }> => f.type === "error");
    expect(errors.map((e) => [e.id, e.code])).toEqual([
      ["r1", "forbidden"],
      ["a1", "invalid_request"],
    ]);
    expect(errors[1]?.message).toContain("reply to a topic over HTTP");
    socket.ws.close(1000);
  });
});

describe("rights for requests and replies", () => {
  const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;
  const send = async (path: string, cap: Record<string, string[]> | null, body = "{}") =>
    app.fetch(
      new Request(`http://broker${path}`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          ...(cap === null ? {} : { authorization: `Bearer ${await hs256({ cap, exp: nowS() + 600 })}` }),
        },
      }),
      secured,
      createExecutionContext(),
    );

  it("need publish to ask, publish on a reply topic to answer there, and any credential for an inbox", async () => {
    const topic = await served();
    const replies = freshTopic("replies");
    await expectProblem(
      await send(`/v1/topics/${topic}/requests?timeout=100ms`, { [topic]: ["subscribe"] }),
      403,
      "forbidden",
    );
    await expectProblem(await send(`/v1/replies/${replies}`, { [topic]: ["subscribe"] }), 403, "forbidden");
    await expectJson(await send(`/v1/replies/${replies}`, { [replies]: ["publish"] }), 201);
    // An inbox is answered by whoever knows its name; none waits on this one.
    const inbox = "_reply.00000000000000000000000000000000";
    await expectProblem(await send(`/v1/replies/${inbox}`, { "other.*": ["subscribe"] }), 410, "gone");
    await expectProblem(await send(`/v1/replies/${inbox}`, null), 401, "unauthorized");
  });
});
