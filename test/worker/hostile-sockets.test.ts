/**
 * What one client can do to a topic's sockets: take every slot, or publish without limit.
 * The test configuration caps a topic at 20 sockets and a subject at 3 (vitest.config.ts).
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { CLOSE_CODES, type ServerFrame } from "../../src/protocol/ws-frames";
import { ADMIN_KEY, hs256, SECRET } from "./auth-fixtures";
import { freshTopic, text, topicStub, unwrap } from "./helpers";
import { openSocket } from "./ws-helpers";

const topicWithMessage = async () => {
  const name = freshTopic();
  unwrap(await topicStub(name).publish([text("x")]));
  return name;
};

const subject = () => `sub:${crypto.randomUUID()}`;

describe("a topic's sockets", () => {
  it("are shared: one client holds at most its share, and others still get in", async () => {
    const name = await topicWithMessage();
    const greedy = subject();
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await openSocket(name, { subject: greedy }));
    const refused = await openSocket(name, { subject: greedy });
    expect((await refused.closed).code).toBe(CLOSE_CODES.TRY_AGAIN_LATER);
    expect(refused.frames[0]).toMatchObject({ type: "error", code: "rate_limited" });
    const other = await openSocket(name, { subject: subject() });
    await other.until((f) => f[0]?.type === "hello");
    // A socket that closes gives its slot back.
    held[0]?.ws.close(1000);
    await held[0]?.closed;
    const again = await openSocket(name, { subject: greedy });
    await again.until((f) => f[0]?.type === "hello");
    for (const s of [...held, other, again]) s.ws.close(1000);
  });

  it("keep room for the admin key when tokens fill every slot", async () => {
    const name = await topicWithMessage();
    const open = [];
    for (let i = 0; i < 20; i++) open.push(await openSocket(name, { subject: subject() }));
    const refused = await openSocket(name, { subject: subject() });
    expect((await refused.closed).code).toBe(CLOSE_CODES.TRY_AGAIN_LATER);
    const admin = await openSocket(name, { privileged: true });
    await admin.until((f) => f[0]?.type === "hello");
    expect(admin.frames[0]).toMatchObject({ type: "hello" });
    for (const s of [...open, admin]) s.ws.close(1000);
  });
});

/** Opens a socket through the worker with a credential; answers its close code, or "open". */
async function connect(name: string, credential: string): Promise<number | "open"> {
  const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;
  const request = new Request(`http://broker/v1/topics/${name}/ws`, {
    headers: { Upgrade: "websocket", Authorization: `Bearer ${credential}` },
  });
  const res = await app.fetch(request, secured, createExecutionContext());
  const ws = res.webSocket;
  if (!ws) throw new Error(`expected a WebSocket, got ${res.status}`);
  const outcome = new Promise<number | "open">((resolve) => {
    ws.addEventListener("message", (event) => {
      if (JSON.parse(event.data as string).type === "hello") resolve("open");
    });
    ws.addEventListener("close", (event) => resolve(event.code));
  });
  ws.accept();
  return outcome;
}

describe("sockets opened through the worker", () => {
  it("are counted by the token's subject, and the admin key is not counted", async () => {
    const name = await topicWithMessage();
    const token = await hs256({ cap: { [name]: ["subscribe"] }, sub: `user-${crypto.randomUUID()}` });
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push(await connect(name, token));
    expect(outcomes).toEqual(["open", "open", "open", CLOSE_CODES.TRY_AGAIN_LATER]);
    for (let i = 0; i < 4; i++) expect(await connect(name, ADMIN_KEY)).toBe("open");
  });
});

describe("publishing over a socket", () => {
  it("spends the client's publish budget: once it is spent, a publish frame is refused and nothing written", async () => {
    const name = await topicWithMessage();
    const who = subject();
    // Spend the budget on the binding itself (1,000 per 10 s), as the HTTP rate-limit tests do.
    const spend = async () => {
      for (let round = 0; round < 50; round++) {
        const outcomes = await Promise.all(
          Array.from({ length: 100 }, () => env.PUBLISH_RATE_LIMIT.limit({ key: who })),
        );
        if (outcomes.some((o) => !o.success)) return;
      }
    };
    const socket = await openSocket(name, { subject: who });
    // The window is aligned to the clock: one that turns between the spending and the frame gives
    // the client a fresh budget, and the frame is published. Spend again and retry (bounded).
    let refused: ServerFrame | undefined;
    for (let attempt = 0; attempt < 3 && refused === undefined; attempt++) {
      await spend();
      const before = unwrap(await topicStub(name).info()).stats.lastSeq;
      const id = `p${attempt}`;
      socket.send({ type: "publish", id, data: { n: attempt } });
      await socket.until((f) => f.some((x) => (x.type === "error" || x.type === "published") && x.id === id));
      refused = socket.frames.find((f) => f.type === "error" && f.id === id);
      if (refused) expect(unwrap(await topicStub(name).info()).stats.lastSeq).toBe(before);
    }
    expect(refused).toMatchObject({ code: "rate_limited" });
    // Another client's budget is its own.
    const other = await openSocket(name, { subject: subject() });
    other.send({ type: "publish", id: "p2", data: { n: 2 } });
    await other.until((f) => f.some((x) => x.type === "published"));
    for (const s of [socket, other]) s.ws.close(1000);
  }, 30_000);
});
