/**
 * Rate limits on publish and connect, with the real `[[ratelimits]]` bindings of wrangler.toml.
 *
 * Reaching a limit of 1,000 publishes through the whole stack would take 1,000 real publishes, so
 * each test spends a fresh key's budget by calling the binding itself, then shows that the next
 * request through the worker is refused. Keys are per test (a random `sub`, a documentation-range
 * address), so tests never share a budget. Local windows are fixed and aligned to the clock
 * (Miniflare's emulation), so a test that spends a budget first waits for a window with room left.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_PRINCIPAL, OPEN_PRINCIPAL, principalFromCap } from "../../src/auth/capabilities";
import { app } from "../../src/http/app";
import { clientAddress, rateLimitKey } from "../../src/http/middleware/rate-limit";
import { CLOSE_CODES } from "../../src/protocol/ws-frames";
import { ADMIN_KEY, hs256, SECRET } from "./auth-fixtures";
import { freshTopic, topicStub } from "./helpers";
import { expectProblem } from "./http-support";

/** The defaults wrangler.toml ships: a change to them should be a decision, so it fails here. */
const SHIPPED = {
  PUBLISH_RATE_LIMIT: { limit: 1_000, period: 10 },
  CONNECT_RATE_LIMIT: { limit: 100, period: 60 },
} as const;
type Binding = keyof typeof SHIPPED;

const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;

function call(
  method: string,
  path: string,
  token: string,
  init: { body?: string; headers?: Record<string, string>; env?: Env } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  const request = new Request(`http://broker${path}`, { method, headers, body: init.body ?? null });
  return Promise.resolve(app.fetch(request, init.env ?? secured, createExecutionContext()));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits, if need be, until the binding's current window has at least 4 s left. */
async function freshWindow(binding: Binding): Promise<void> {
  const periodMs = SHIPPED[binding].period * 1000;
  const left = periodMs - (Date.now() % periodMs);
  if (left < 4_000) await sleep(left + 50);
}

/** Spends a key's whole budget on the binding; returns how many calls it allowed (bounded). */
async function exhaust(binding: Binding, key: string): Promise<number> {
  let allowed = 0;
  for (let round = 0; round < 50; round++) {
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => env[binding].limit({ key })));
    const passed = outcomes.filter((o) => o.success).length;
    allowed += passed;
    if (passed < outcomes.length) return allowed;
  }
  throw new Error(`${binding} never refused ${key}`);
}

/** The frames and close of a socket the broker refused at connect. */
async function refusedSocket(res: Response): Promise<{ frames: unknown[]; code: number; reason: string }> {
  const ws = res.webSocket;
  if (!ws) throw new Error(`expected a WebSocket, got status ${res.status}`);
  const frames: unknown[] = [];
  ws.addEventListener("message", (event) => {
    frames.push(JSON.parse(event.data as string));
  });
  const closed = new Promise<CloseEvent>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the socket was not closed within 5 s")), 5_000);
    ws.addEventListener("close", (event) => {
      clearTimeout(timer);
      resolve(event);
    });
  });
  ws.accept();
  const event = await closed;
  return { frames, code: event.code, reason: event.reason };
}

/** Requests the topic's object has served (its own count, which an info call adds one to). */
async function requestsTo(topic: string): Promise<number> {
  const info = await topicStub(topic).info();
  if (!info.ok) throw new Error(info.detail);
  return info.value.usage.requests;
}

const ip4 = () => `203.0.113.${1 + Math.floor(Math.random() * 254)}`;

// A test may wait up to 4 s for a window with room, then spend a budget of 1,000.
describe("rate limits", { timeout: 30_000 }, () => {
  it("refuses publishes past the limit with 429 rate_limited and Retry-After, and writes nothing", async () => {
    const topic = freshTopic();
    const subject = crypto.randomUUID();
    const token = await hs256({ cap: { [topic]: ["publish"] }, sub: subject });
    await freshWindow("PUBLISH_RATE_LIMIT");

    expect((await call("POST", `/v1/topics/${topic}/messages`, token, { body: "first" })).status).toBe(201);
    const spent = await exhaust("PUBLISH_RATE_LIMIT", `sub:${subject}`);
    expect(spent + 1).toBe(SHIPPED.PUBLISH_RATE_LIMIT.limit);

    const refused = await call("POST", `/v1/topics/${topic}/messages`, token, { body: "second" });
    expect(refused.headers.get("retry-after")).toBe("10");
    const problem = await expectProblem(refused, 429, "rate_limited");
    expect(problem.detail).toContain("PUBLISH_RATE_LIMIT");
    const batch = await call("POST", `/v1/topics/${topic}/batch`, token, {
      body: JSON.stringify({ messages: [{ data: 1 }] }),
    });
    await expectProblem(batch, 429, "rate_limited");

    const info = await topicStub(topic).info();
    expect(info.ok && info.value.stats.published).toBe(1);
    // Another subject has a budget of its own.
    const other = await hs256({ cap: { [topic]: ["publish"] }, sub: crypto.randomUUID() });
    expect((await call("POST", `/v1/topics/${topic}/messages`, other, { body: "x" })).status).toBe(201);
  });

  it("counts WebSocket upgrades and SSE streams against the connect limit, not plain reads", async () => {
    const topic = freshTopic();
    const subject = crypto.randomUUID();
    const token = await hs256({ cap: { [topic]: ["admin"] }, sub: subject });
    await call("POST", `/v1/topics/${topic}/messages`, ADMIN_KEY, { body: "seed" });
    await freshWindow("CONNECT_RATE_LIMIT");
    expect(await exhaust("CONNECT_RATE_LIMIT", `sub:${subject}`)).toBe(SHIPPED.CONNECT_RATE_LIMIT.limit);
    const requestsBefore = await requestsTo(topic);

    const upgrade = { Upgrade: "websocket", "Sec-WebSocket-Protocol": "edge-broker.v1" };
    for (const path of [`/v1/topics/${topic}/ws`, `/v1/topics/${topic}/subscriptions/s/ws`]) {
      // A browser cannot read a refused handshake's status: the refusal comes on the socket.
      const res = await call("GET", path, token, { headers: upgrade });
      expect(res.status).toBe(101);
      expect(res.headers.get("sec-websocket-protocol")).toBe("edge-broker.v1");
      const refusal = await refusedSocket(res);
      expect(refusal.frames).toEqual([
        { type: "error", code: "rate_limited", message: expect.stringContaining("60 s") },
      ]);
      expect(refusal.code).toBe(CLOSE_CODES.TRY_AGAIN_LATER);
      expect(refusal.reason).toMatch(/^rate_limited: /);
    }
    const sse = await call("GET", `/v1/topics/${topic}/messages`, token, {
      headers: { Accept: "text/event-stream" },
    });
    await expectProblem(sse, 429, "rate_limited");
    // Only the second info call reached the object: the refused streams never did.
    expect(await requestsTo(topic)).toBe(requestsBefore + 1);
    // Reading the log is not a connection: it stays open to the same client.
    expect((await call("GET", `/v1/topics/${topic}/messages`, token)).status).toBe(200);
    // Publishing has its own budget.
    expect((await call("POST", `/v1/topics/${topic}/messages`, token, { body: "x" })).status).toBe(201);
  });

  it("counts a token without a subject per client address, an IPv6 client per /64", async () => {
    const topic = freshTopic();
    const token = await hs256({ cap: { [topic]: ["publish"] } });
    const address = ip4();
    const v6 = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`;
    const from = (ip: string) =>
      call("POST", `/v1/topics/${topic}/messages`, token, { body: ip, headers: { "CF-Connecting-IP": ip } });
    // Each key is spent and checked within one window, so a slow machine cannot straddle two.
    await freshWindow("PUBLISH_RATE_LIMIT");
    await exhaust("PUBLISH_RATE_LIMIT", `client:${address}`);
    await expectProblem(await from(address), 429, "rate_limited");
    await expectProblem(await from(`::ffff:${address}`), 429, "rate_limited");
    expect((await from("198.51.100.77")).status).toBe(201);

    await freshWindow("PUBLISH_RATE_LIMIT");
    await exhaust("PUBLISH_RATE_LIMIT", `client:${v6}::/64`);
    await expectProblem(await from(`${v6}::1`), 429, "rate_limited");
    await expectProblem(await from(`${v6}:ffff:1:2:3`), 429, "rate_limited");
    expect((await from(`${v6.replace(/:7$/, ":8")}::1`)).status).toBe(201);
  }, 30_000);

  it("never limits the admin key, whatever the client's address has spent", async () => {
    const topic = freshTopic();
    const address = ip4();
    await freshWindow("PUBLISH_RATE_LIMIT");
    await exhaust("PUBLISH_RATE_LIMIT", `client:${address}`);
    const headers = { "CF-Connecting-IP": address };
    const res = await call("POST", `/v1/topics/${topic}/messages`, ADMIN_KEY, { body: "x", headers });
    expect(res.status).toBe(201);
    const request = new Request("http://broker/", { headers });
    expect(await rateLimitKey(ADMIN_PRINCIPAL, request)).toBeNull();
    expect(await rateLimitKey(OPEN_PRINCIPAL, request)).toBeNull();
  });

  it("checks the right before counting: a forbidden request is 403 and spends nothing", async () => {
    const topic = freshTopic();
    const subject = crypto.randomUUID();
    const token = await hs256({ cap: { [topic]: ["subscribe"] }, sub: subject });
    await freshWindow("PUBLISH_RATE_LIMIT");
    for (let i = 0; i < 3; i++) {
      expect((await call("POST", `/v1/topics/${topic}/messages`, token, { body: "x" })).status).toBe(403);
    }
    expect(await exhaust("PUBLISH_RATE_LIMIT", `sub:${subject}`)).toBe(SHIPPED.PUBLISH_RATE_LIMIT.limit);
  });

  it("lets every request through when the deployment has no rate-limit binding", async () => {
    const topic = freshTopic();
    const subject = crypto.randomUUID();
    const token = await hs256({ cap: { [topic]: ["publish"] }, sub: subject });
    await freshWindow("PUBLISH_RATE_LIMIT");
    await exhaust("PUBLISH_RATE_LIMIT", `sub:${subject}`);
    const { PUBLISH_RATE_LIMIT: _dropped, ...rest } = secured;
    const old = rest as Env;
    const res = await call("POST", `/v1/topics/${topic}/messages`, token, { body: "x", env: old });
    expect(res.status).toBe(201);
  });

  it("keys a long subject by its hash and a subject-less token by its address", async () => {
    const request = (ip?: string) =>
      new Request("http://b/", { headers: ip ? { "CF-Connecting-IP": ip } : {} });
    const long = principalFromCap({ t: ["publish"] }, { subject: "s".repeat(300) });
    expect(await rateLimitKey(long, request())).toMatch(/^sub#[0-9a-f]{64}$/);
    const anonymous = principalFromCap({ t: ["publish"] });
    expect(await rateLimitKey(anonymous, request())).toBe("client:local");
    expect(await rateLimitKey(anonymous, request("192.0.2.1"))).toBe("client:192.0.2.1");
    expect(clientAddress("2001:DB8::1")).toBe("2001:db8:0:0::/64");
    expect(clientAddress("::1")).toBe("0:0:0:0::/64");
    expect(clientAddress("not an address")).toBe("not an address");
    expect(clientAddress("x".repeat(500))).toHaveLength(64);
  });
});
