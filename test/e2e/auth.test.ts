/**
 * Auth on a real broker process (`npm start` with `--var`s), over real HTTP and real WebSockets:
 * a broker with no secret refuses everything and says what to set; with secrets, a minted token
 * opens sockets on its own topic only (as a `bearer.` subprotocol or `?token=`). A refused token
 * gets an accepted socket with one error frame and close 1008 (a browser cannot read a refused
 * handshake's status); a foreign `Origin` is a plain 403 before any upgrade. Also: the publish
 * rate limit, as wrangler dev runs it.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Problem } from "../../src/protocol/errors";
import type { ServerFrame } from "../../src/protocol/ws-frames";
import { type Broker, freshTopic, removeState, sleep, startBroker, writeConfig } from "./harness";

const ADMIN_KEY = "e2e-admin-key-0123456789abcdef";
const JWT_SECRET = "e2e-jwt-secret-0123456789abcdef-0123456789";
const ALLOWED_ORIGIN = "https://app.example.com";
const SUBPROTOCOL = "edge-broker.v1";

/**
 * Sends a WebSocket handshake and reports the status line: a browser's WebSocket cannot read the
 * status of a refused upgrade, so the refusal is checked at the HTTP level. A 101 is closed at once.
 */
function upgradeStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64"),
        "Sec-WebSocket-Protocol": SUBPROTOCOL,
        ...headers,
      },
      timeout: 10_000,
    });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      resolve({ status: 101, body: "" });
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("upgrade timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** A real WebSocket (Node's global one) that records frames; `until` waits with a deadline. */
function openSocket(url: string, protocols: string[]) {
  const ws = new WebSocket(url, protocols);
  const frames: ServerFrame[] = [];
  ws.addEventListener("message", (event) => {
    frames.push(JSON.parse(String(event.data)) as ServerFrame);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error(`WebSocket to ${url} failed`)));
  });
  const until = async (ok: (frames: ServerFrame[]) => boolean, ms = 10_000): Promise<ServerFrame[]> => {
    const deadline = Date.now() + ms;
    while (!ok(frames)) {
      if (Date.now() > deadline)
        throw new Error(`timed out; frames: ${JSON.stringify(frames).slice(0, 400)}`);
      await sleep(20);
    }
    return frames;
  };
  return { ws, frames, opened, until };
}

/** Opens a socket the broker is expected to refuse, and reports what it said and how it closed. */
async function refusal(
  url: string,
  protocols: string[],
): Promise<{ frames: ServerFrame[]; code: number; reason: string }> {
  const socket = openSocket(url, protocols);
  const closed = await new Promise<CloseEvent>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${url} was not closed within 10 s`)), 10_000);
    socket.ws.addEventListener("close", (event) => {
      clearTimeout(timer);
      resolve(event);
    });
  });
  return { frames: socket.frames, code: closed.code, reason: closed.reason };
}

const countMessages = (frames: ServerFrame[]) =>
  frames.reduce((n, f) => n + (f.type === "message" ? 1 : f.type === "messages" ? f.messages.length : 0), 0);

describe("a broker started with AUTH=required and no secret", () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBroker({ vars: { AUTH: "required" } });
  });
  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  test("refuses every API request with 401, and every socket with 1008, saying to run wrangler secret put", async () => {
    const topic = freshTopic();
    const requests: [string, string, unknown?][] = [
      ["GET", "/v1/topics"],
      ["POST", `/v1/topics/${topic}/messages`, { hello: "world" }],
      ["PUT", `/v1/topics/${topic}`, {}],
      ["GET", `/v1/topics/${topic}/messages`],
      ["POST", "/v1/tokens", { cap: { "*": ["admin"] } }],
    ];
    for (const [method, path, json] of requests) {
      // Even a plausible credential is refused: there is nothing to check it against.
      const res = await broker.json<Problem>(path, {
        method,
        ...(json !== undefined && { json }),
        headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect({ method, path, status: res.status, code: res.body.code }).toEqual({
        method,
        path,
        status: 401,
        code: "unauthorized",
      });
      expect(res.body.detail).toContain("wrangler secret put");
    }
    // A browser cannot read the status of a refused handshake: the refusal comes on the socket.
    const socket = await refusal(`${broker.url.replace(/^http/, "ws")}/v1/topics/${topic}/ws`, [SUBPROTOCOL]);
    expect(socket.frames).toEqual([
      { type: "error", code: "unauthorized", message: expect.stringContaining("wrangler secret put") },
    ]);
    expect(socket.code).toBe(1008);
    expect(socket.reason).toMatch(/^unauthorized: .*wrangler secret put/);
  });
});

describe("a broker started with ADMIN_KEY, JWT_SECRET and ALLOWED_ORIGINS", () => {
  let broker: Broker;
  const wsUrl = (path: string) => `${broker.url.replace(/^http/, "ws")}${path}`;
  const admin = { Authorization: `Bearer ${ADMIN_KEY}` };

  async function mint(cap: Record<string, string[]>, sub?: string): Promise<string> {
    const res = await broker.json<{ token: string }>("/v1/tokens", {
      method: "POST",
      headers: admin,
      json: { cap, ttl: "5m", ...(sub !== undefined && { sub }) },
    });
    expect(res.status).toBe(201);
    return res.body.token;
  }

  beforeAll(async () => {
    broker = await startBroker({
      vars: { AUTH: "required", ADMIN_KEY, JWT_SECRET, ALLOWED_ORIGINS: ALLOWED_ORIGIN },
    });
  });
  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  test("lets a minted token subscribe over a real WebSocket on its topic, by subprotocol and by ?token=", async () => {
    const topic = freshTopic();
    const token = await mint({ [topic]: ["subscribe"] });
    expect(
      (
        await broker.json(`/v1/topics/${topic}/subscriptions/s`, {
          method: "PUT",
          headers: admin,
          json: { startAt: "earliest" },
        })
      ).status,
    ).toBe(201);
    const batch = { messages: [{ data: 1 }, { data: 2 }, { data: 3 }] };
    expect(
      (await broker.json(`/v1/topics/${topic}/batch`, { method: "POST", headers: admin, json: batch }))
        .status,
    ).toBe(201);

    const tail = openSocket(wsUrl(`/v1/topics/${topic}/ws?after=0`), [SUBPROTOCOL, `bearer.${token}`]);
    await tail.opened;
    expect(tail.ws.protocol).toBe(SUBPROTOCOL);
    await tail.until((f) => countMessages(f) === 3);
    expect(tail.frames[0]).toMatchObject({ type: "hello", topic, after: 0 });

    const consumer = openSocket(wsUrl(`/v1/topics/${topic}/subscriptions/s/ws?token=${token}`), [
      SUBPROTOCOL,
    ]);
    await consumer.opened;
    await consumer.until((f) => countMessages(f) === 3);
    // The token grants subscribe only: acks work, publishing over the socket does not.
    consumer.ws.send(JSON.stringify({ type: "ack", seqs: [1, 2, 3], id: "acked" }));
    consumer.ws.send(JSON.stringify({ type: "publish", id: "pub", data: "no" }));
    await consumer.until((f) => f.some((x) => x.type === "ok") && f.some((x) => x.type === "error"));
    expect(consumer.frames).toContainEqual({ type: "ok", id: "acked" });
    expect(consumer.frames).toContainEqual(
      expect.objectContaining({ type: "error", code: "forbidden", id: "pub" }),
    );
    tail.ws.close(1000);
    consumer.ws.close(1000);

    const info = await broker.json<{ stats: { acked: number } }>(`/v1/topics/${topic}/subscriptions/s`, {
      headers: admin,
    });
    expect(info.body.stats.acked).toBe(3);
  });

  test("refuses a token of another topic on the socket with forbidden and 1008, and no token with unauthorized", async () => {
    const topic = freshTopic();
    await broker.json(`/v1/topics/${topic}`, { method: "PUT", headers: admin, json: {} });
    await broker.json(`/v1/topics/${topic}/subscriptions/s`, { method: "PUT", headers: admin, json: {} });
    const other = await mint({ [freshTopic()]: ["subscribe", "publish"] });
    const attempts: [string, string[]][] = [
      [wsUrl(`/v1/topics/${topic}/ws`), [SUBPROTOCOL, `bearer.${other}`]],
      [wsUrl(`/v1/topics/${topic}/ws?token=${other}`), [SUBPROTOCOL]],
      [wsUrl(`/v1/topics/${topic}/subscriptions/s/ws?token=${other}`), [SUBPROTOCOL]],
    ];
    for (const [url, protocols] of attempts) {
      const socket = await refusal(url, protocols);
      expect(socket.frames).toEqual([expect.objectContaining({ type: "error", code: "forbidden" })]);
      expect(socket.code).toBe(1008);
      expect(socket.reason).toMatch(/^forbidden: /);
    }
    const anonymous = await refusal(wsUrl(`/v1/topics/${topic}/ws`), [SUBPROTOCOL]);
    expect(anonymous.frames).toEqual([expect.objectContaining({ type: "error", code: "unauthorized" })]);
    expect(anonymous.code).toBe(1008);
    // Over plain HTTP the same token is a 403.
    const read = await broker.json<Problem>(`/v1/topics/${topic}/messages`, {
      headers: { Authorization: `Bearer ${other}` },
    });
    expect(read.status).toBe(403);
    expect(read.body.code).toBe("forbidden");
  });

  test("refuses an upgrade from a foreign Origin with 403 and accepts the allowed one", async () => {
    const topic = freshTopic();
    await broker.json(`/v1/topics/${topic}`, { method: "PUT", headers: admin, json: {} });
    const token = await mint({ [topic]: ["subscribe"] });
    const url = `${broker.url}/v1/topics/${topic}/ws?token=${token}`;
    for (const origin of [
      "https://evil.example",
      "https://app.example.com.evil.example",
      "null",
      "http://app.example.com",
    ]) {
      const res = await upgradeStatus(url, { Origin: origin });
      expect({ origin, status: res.status }).toEqual({ origin, status: 403 });
      expect(JSON.parse(res.body)).toMatchObject({ code: "forbidden" });
    }
    expect((await upgradeStatus(url, { Origin: ALLOWED_ORIGIN })).status).toBe(101);
  });
});

describe("a broker whose publish limit is 5 per 10 s", () => {
  let broker: Broker;

  beforeAll(async () => {
    // The project's limits (1,000 per 10 s) cannot be reached reliably by a test on a busy
    // machine; the same binding with a tiny limit shows the behaviour without a race.
    const config = await writeConfig((toml) =>
      toml.replace("simple = { limit = 1000, period = 10 }", "simple = { limit = 5, period = 10 }"),
    );
    broker = await startBroker({ config, vars: { AUTH: "required", ADMIN_KEY, JWT_SECRET } });
  });
  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  test("counts a token's publishes in a fixed window aligned to the clock, as wrangler dev emulates it", async () => {
    const topic = freshTopic();
    const minted = await broker.json<{ token: string }>("/v1/tokens", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      json: { cap: { [topic]: ["publish"] }, ttl: "5m", sub: `e2e-${crypto.randomUUID()}` },
    });
    const publish = (body: string) =>
      broker.json(`/v1/topics/${topic}/messages`, {
        method: "POST",
        body,
        headers: { Authorization: `Bearer ${minted.body.token}`, "Content-Type": "application/json" },
      });
    // Start early in a window, so the six requests land in one.
    const left = 10_000 - (Date.now() % 10_000);
    if (left < 7_000) await sleep(left + 50);
    // Refused bodies still count: the limit is on requests, and these cost the topic nothing.
    for (let i = 0; i < 5; i++) expect((await publish("{")).status).toBe(400);
    const refused = await publish('"one too many"');
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect((refused.body as Problem).code).toBe("rate_limited");
    // The next window starts from zero.
    await sleep(10_000 - (Date.now() % 10_000) + 100);
    expect((await publish('"next window"')).status).toBe(201);
  });
});
