import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLOCK_TOLERANCE_S } from "../../src/auth/tokens";
import { app } from "../../src/http/app";
import type { ServerFrame } from "../../src/protocol/ws-frames";
import { CLOSE_CODES } from "../../src/protocol/ws-frames";
import { hs256, nowS, SECRET } from "./auth-fixtures";
import { freshTopic, text, topicStub, unwrap } from "./helpers";

function collect(ws: WebSocket) {
  const frames: ServerFrame[] = [];
  const waiters = new Set<() => void>();
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
    for (const w of waiters) w();
  });
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
  const until = (ok: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out: ${JSON.stringify(frames).slice(0, 300)}`)),
        5_000,
      );
      const check = () => {
        if (!ok()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  return { frames, closed, until };
}

const upgradeHeaders = { Upgrade: "websocket", "Sec-WebSocket-Protocol": "edge-broker.v1" };

/** Reads SSE events from a streaming body until `count` message events arrived. */
async function sseEvents(
  res: Response,
  count: number,
): Promise<{ event: string; id?: string; data: string }[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { event: string; id?: string; data: string }[] = [];
  let buffer = "";
  const deadline = Date.now() + 5_000;
  while (events.filter((e) => e.event === "message").length < count && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: { event: string; id?: string; data: string } = { event: "message", data: "" };
      let hasData = false;
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event.event = line.slice(7);
        else if (line.startsWith("id: ")) event.id = line.slice(4);
        else if (line.startsWith("data: ")) {
          event.data = line.slice(6);
          hasData = true;
        }
      }
      if (hasData) events.push(event);
      end = buffer.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return events;
}

describe("WebSocket routes", () => {
  it("upgrades a consumer socket, answering the offered subprotocol", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).putSubscription("s", { startAt: "earliest" }));
    unwrap(await topicStub(topic).publish([text("hi")]));
    const res = await exports.default.fetch(`http://broker/v1/topics/${topic}/subscriptions/s/ws`, {
      headers: upgradeHeaders,
    });
    expect(res.status).toBe(101);
    expect(res.headers.get("Sec-WebSocket-Protocol")).toBe("edge-broker.v1");
    const ws = res.webSocket as WebSocket;
    ws.accept();
    const socket = collect(ws);
    await socket.until(() => socket.frames.some((f) => f.type === "message" || f.type === "messages"));
    expect(socket.frames[0]).toMatchObject({ type: "hello", subscription: "s" });
    ws.close(1000);
  });

  it("answers a plain GET on a WebSocket endpoint with 426", async () => {
    const res = await exports.default.fetch(`http://broker/v1/topics/${freshTopic()}/ws`);
    expect(res.status).toBe(426);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });

  it("refuses a bad resume position before upgrading", async () => {
    const res = await exports.default.fetch(`http://broker/v1/topics/${freshTopic()}/ws?after=-3`, {
      headers: upgradeHeaders,
    });
    expect(res.status).toBe(400);
  });

  it("tails from after= over the worker", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).publish([text("a"), text("b")]));
    const res = await exports.default.fetch(`http://broker/v1/topics/${topic}/ws?after=1`, {
      headers: upgradeHeaders,
    });
    const ws = res.webSocket as WebSocket;
    ws.accept();
    const socket = collect(ws);
    await socket.until(() => socket.frames.length >= 2);
    expect(socket.frames[1]).toMatchObject({ type: "message", message: { seq: 2, data: "b" } });
    ws.close(1000);
  });

  it("closes a socket with 1008 when its token expires, at exp plus the clock tolerance", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).publish([text("a")]));
    const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET } as Env;
    // exp has passed, but the clock tolerance still accepts the token for about two seconds.
    const exp = nowS() - CLOCK_TOLERANCE_S + 2;
    const validUntil = (exp + CLOCK_TOLERANCE_S) * 1000;
    const token = await hs256({ cap: { [topic]: ["subscribe"] }, exp });
    const req = new Request(`http://broker/v1/topics/${topic}/ws?token=${token}`, {
      headers: upgradeHeaders,
    });
    const res = await app.fetch(req, secured, createExecutionContext());
    expect(res.status).toBe(101);
    const ws = res.webSocket as WebSocket;
    ws.accept();
    const socket = collect(ws);
    await socket.until(() => socket.frames.some((f) => f.type === "hello"));
    // The topic's alarm is set for the instant the token stops being accepted over HTTP too.
    const alarm = await runInDurableObject(topicStub(topic), (_: unknown, state: DurableObjectState) =>
      state.storage.getAlarm(),
    );
    expect(alarm).toBe(validUntil);
    // Run early, the alarm leaves the socket open: a ping still gets its pong.
    await runDurableObjectAlarm(topicStub(topic));
    ws.send(JSON.stringify({ type: "ping" }));
    await socket.until(() => socket.frames.some((f) => f.type === "pong"));
    expect(Date.now()).toBeLessThan(validUntil);
    // From the instant on, it is closed.
    while (Date.now() < validUntil) await new Promise((resolve) => setTimeout(resolve, 50));
    await runDurableObjectAlarm(topicStub(topic));
    const closed = await socket.closed;
    expect(closed.code).toBe(CLOSE_CODES.POLICY);
    expect(closed.reason).toBe("unauthorized: the token expired");
  });
});

describe("WebSocket refusals and credit", () => {
  const secured = () => ({ ...env, AUTH: "required", JWT_SECRET: SECRET }) as Env;

  async function refused(path: string, token: string | null) {
    const headers = {
      ...upgradeHeaders,
      ...(token && { "Sec-WebSocket-Protocol": `edge-broker.v1, bearer.${token}` }),
    };
    const res = await app.fetch(
      new Request(`http://broker${path}`, { headers }),
      secured(),
      createExecutionContext(),
    );
    expect(res.status).toBe(101);
    expect(res.headers.get("Sec-WebSocket-Protocol")).toBe("edge-broker.v1");
    const ws = res.webSocket as WebSocket;
    const socket = collect(ws);
    ws.accept();
    const closed = await socket.closed;
    return { closed, frames: socket.frames };
  }

  it("tells a browser why its upgrade was refused: an error frame and close 1008", async () => {
    const topic = freshTopic();
    const other = await hs256({ cap: { "elsewhere.*": ["subscribe"] }, exp: nowS() + 600 });
    const forbidden = await refused(`/v1/topics/${topic}/ws`, other);
    expect(forbidden.closed.code).toBe(CLOSE_CODES.POLICY);
    expect(forbidden.closed.reason).toMatch(/^forbidden: /);
    expect(forbidden.frames).toEqual([expect.objectContaining({ type: "error", code: "forbidden" })]);
    const anonymous = await refused(`/v1/topics/${topic}/ws`, null);
    expect(anonymous.closed.reason).toMatch(/^unauthorized: /);
    // The topic's object never heard of either attempt.
    expect((await topicStub(topic).info()).ok).toBe(false);
  });

  it("starts a consumer with the credit it asks for in ?maxInFlight=", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).putSubscription("s", { startAt: "earliest" }));
    unwrap(await topicStub(topic).publish(Array.from({ length: 5 }, (_, i) => text(`m${i}`))));
    const res = await exports.default.fetch(
      `http://broker/v1/topics/${topic}/subscriptions/s/ws?maxInFlight=2`,
      {
        headers: upgradeHeaders,
      },
    );
    const ws = res.webSocket as WebSocket;
    ws.accept();
    const socket = collect(ws);
    await socket.until(() => socket.frames.some((f) => f.type === "messages" || f.type === "message"));
    expect(unwrap(await topicStub(topic).getSubscription("s")).stats).toMatchObject({
      inFlight: 2,
      delivered: 2,
    });
    ws.close(1000);
  });
});

describe("SSE", () => {
  it("streams the log with id = seq, and resumes after Last-Event-ID", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).publish([text("a"), text("b"), text("c")]));
    const first = await exports.default.fetch(`http://broker/v1/topics/${topic}/messages?after=0`, {
      headers: { Accept: "text/event-stream" },
    });
    expect(first.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await sseEvents(first, 3);
    expect(events[0]?.event).toBe("hello");
    const messages = events.filter((e) => e.event === "message");
    expect(messages.map((e) => e.id)).toEqual(["1", "2", "3"]);
    expect(JSON.parse(messages[0]?.data as string)).toMatchObject({ seq: 1, data: "a" });

    const resumed = await exports.default.fetch(`http://broker/v1/topics/${topic}/messages`, {
      headers: { Accept: "text/event-stream", "Last-Event-ID": "2" },
    });
    const rest = (await sseEvents(resumed, 1)).filter((e) => e.event === "message");
    expect(rest.map((e) => e.id)).toEqual(["3"]);
  });

  it("delivers a message published while the stream waits", async () => {
    const topic = freshTopic();
    unwrap(await topicStub(topic).publish([text("first")]));
    const res = await exports.default.fetch(`http://broker/v1/topics/${topic}/messages?after=1`, {
      headers: { Accept: "text/event-stream" },
    });
    const reading = sseEvents(res, 1);
    unwrap(await topicStub(topic).publish([text("live")]));
    const messages = (await reading).filter((e) => e.event === "message");
    expect(JSON.parse(messages[0]?.data as string)).toMatchObject({ seq: 2, data: "live" });
  });
});
