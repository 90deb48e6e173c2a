/**
 * Token expiry over real connections to a real broker (`AUTH=required`, `JWT_SECRET`): an SSE
 * stream and a WebSocket opened with the same token both end when the token stops being
 * accepted over HTTP — its `exp` plus the clock tolerance — and not before. The token is signed
 * here, already past its `exp` but inside the tolerance, so the test waits seconds, not the
 * tolerance.
 */
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CLOCK_TOLERANCE_S } from "../../src/auth/tokens";
import { type Broker, freshTopic, removeState, startBroker } from "./harness";

const ADMIN_KEY = "e2e-admin-key-0123456789abcdef";
const JWT_SECRET = "e2e-jwt-secret-0123456789abcdef-0123456789";
/** How late after the instant a stream may end: the broker notices within a long-poll's turn. */
const LATE_MS = 3_000;

interface SseEvent {
  event: string;
  id?: string;
  data: string;
  /** When the test read it, epoch ms. */
  at: number;
}

/** Reads an SSE body as it arrives; `ended` resolves with the time the stream closed. */
function readEvents(res: Response) {
  const events: SseEvent[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const ended = (async () => {
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return Date.now();
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: SseEvent = { event: "message", data: "", at: Date.now() };
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
      }
    }
  })();
  return { events, ended };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("a token that expires while its connections are open", () => {
  let broker: Broker;
  const secret = new TextEncoder().encode(JWT_SECRET);

  beforeAll(async () => {
    broker = await startBroker({ vars: { AUTH: "required", ADMIN_KEY, JWT_SECRET } });
  });
  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  test("ends an SSE stream and a WebSocket at exp plus the clock tolerance, with unauthorized", async () => {
    const topic = freshTopic();
    const admin = { Authorization: `Bearer ${ADMIN_KEY}` };
    expect(
      (await broker.json(`/v1/topics/${topic}`, { method: "PUT", headers: admin, json: {} })).status,
    ).toBe(201);
    // Past its exp already; the tolerance accepts it for about three more seconds.
    const exp = Math.floor(Date.now() / 1000) - CLOCK_TOLERANCE_S + 3;
    const validUntil = (exp + CLOCK_TOLERANCE_S) * 1000;
    const token = await new SignJWT({ cap: { [topic]: ["subscribe"] } })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(exp)
      .sign(secret);

    const res = await fetch(`${broker.url}/v1/topics/${topic}/messages?after=0&token=${token}`, {
      headers: { Accept: "text/event-stream" },
      signal: AbortSignal.timeout(30_000),
    });
    expect(res.status).toBe(200);
    const sse = readEvents(res);

    const ws = new WebSocket(`${broker.url.replace(/^http/, "ws")}/v1/topics/${topic}/ws?token=${token}`, [
      "edge-broker.v1",
    ]);
    const frames: { type: string }[] = [];
    ws.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data))));
    // The socket ends when the broker's close frame arrives (readyState turns CLOSING); the close
    // event itself waits for the TCP connection to close, which wrangler dev's proxy holds open
    // for some seconds more.
    let closingAt = 0;
    const watch = setInterval(() => {
      if (closingAt === 0 && ws.readyState >= WebSocket.CLOSING) closingAt = Date.now();
    }, 10);
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.addEventListener("close", (e) => {
        clearInterval(watch);
        resolve({ code: e.code, reason: e.reason });
      }),
    );

    await until(() => sse.events.some((e) => e.event === "hello"), 10_000, "the hello event");
    const published = await broker.json(`/v1/topics/${topic}/messages`, {
      method: "POST",
      headers: { ...admin, "content-type": "text/plain" },
      body: "before expiry",
    });
    expect(published.status).toBe(201);
    await until(() => sse.events.some((e) => e.event === "message"), 10_000, "the message");
    expect(JSON.parse(sse.events.find((e) => e.event === "message")?.data ?? "{}")).toMatchObject({
      seq: 1,
      data: "before expiry",
    });
    await until(() => frames.some((f) => f.type === "message"), 10_000, "the message on the socket");

    const streamEnded = await sse.ended;
    const error = sse.events.at(-1);
    expect(error?.event).toBe("error");
    expect(JSON.parse(error?.data ?? "{}")).toEqual({ code: "unauthorized", detail: "the token expired" });
    const socket = await closed;
    expect(socket).toMatchObject({ code: 1008, reason: "unauthorized: the token expired" });

    // Neither ends before the token stops being accepted, and both end soon after.
    for (const [what, at] of [
      ["SSE error event", error?.at ?? 0],
      ["SSE end", streamEnded],
      ["socket close frame", closingAt],
    ] as const) {
      expect({ what, early: at < validUntil, late: at > validUntil + LATE_MS }).toEqual({
        what,
        early: false,
        late: false,
      });
    }
    // Over HTTP the same token is refused from that instant on.
    const after = await broker.json(`/v1/topics/${topic}/messages?token=${token}`);
    expect(after.status).toBe(401);
  });
});
