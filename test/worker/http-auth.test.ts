import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { ADMIN_KEY, hs256, nowS, SECRET } from "./auth-fixtures";
import { freshTopic, topicStub } from "./helpers";

/** The real app with auth required, on the real Durable Object bindings of this test run. */
const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;

function call(method: string, path: string, token: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set("Authorization", `Bearer ${token}`);
  return Promise.resolve(
    app.fetch(
      new Request(`http://broker${path}`, { ...init, method, headers }),
      secured,
      createExecutionContext(),
    ),
  );
}

const tokenFor = (cap: Record<string, string[]>, ttl = 600) => hs256({ cap, exp: nowS() + ttl });

/** How many requests the topic's object has served since it started (0 when it never ran). */
async function requestsTo(topic: string): Promise<number | null> {
  const info = await topicStub(topic).info();
  return info.ok ? info.value.usage.requests : null;
}

describe("auth on the HTTP API", () => {
  it("refuses a request without credentials before it reaches the topic", async () => {
    const topic = freshTopic();
    const res = await call("POST", `/v1/topics/${topic}/messages`, null, { body: "x" });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    expect(await requestsTo(topic)).toBeNull();
  });

  it("lets the admin key do everything", async () => {
    const topic = freshTopic();
    expect((await call("POST", `/v1/topics/${topic}/messages`, ADMIN_KEY, { body: "x" })).status).toBe(201);
    expect((await call("GET", `/v1/topics/${topic}`, ADMIN_KEY)).status).toBe(200);
  });

  it("checks each route against the token's rights on its topic: the matrix", async () => {
    const topic = freshTopic("orders");
    await call("POST", `/v1/topics/${topic}/messages`, ADMIN_KEY, { body: "seed" });
    const cases: [Record<string, string[]>, string, string, number][] = [
      [{ [topic]: ["publish"] }, "POST", `/v1/topics/${topic}/messages`, 201],
      [{ [topic]: ["publish"] }, "GET", `/v1/topics/${topic}/messages`, 403],
      [{ [topic]: ["subscribe"] }, "GET", `/v1/topics/${topic}/messages`, 200],
      [{ [topic]: ["subscribe"] }, "POST", `/v1/topics/${topic}/messages`, 403],
      [{ [topic]: ["subscribe"] }, "PUT", `/v1/topics/${topic}`, 403],
      [{ [topic]: ["admin"] }, "PUT", `/v1/topics/${topic}`, 200],
      [{ "orders*": ["publish"] }, "POST", `/v1/topics/${topic}/messages`, 201],
      [{ "other*": ["admin"] }, "POST", `/v1/topics/${topic}/messages`, 403],
      [{ "other*": ["admin"] }, "GET", `/v1/topics/${topic}`, 403],
      [{ [topic]: ["admin"] }, "POST", "/v1/tokens", 403],
    ];
    for (const [cap, method, path, status] of cases) {
      const body = method === "GET" ? null : method === "PUT" ? "{}" : "x";
      const res = await call(method, path, await tokenFor(cap), { body });
      expect({ cap, method, path, status: res.status }).toEqual({ cap, method, path, status });
    }
  });

  it("refuses a token for another topic without waking the topic", async () => {
    const topic = freshTopic();
    const res = await call(
      "POST",
      `/v1/topics/${topic}/messages`,
      await tokenFor({ "elsewhere.*": ["publish"] }),
      {
        body: "x",
      },
    );
    expect(res.status).toBe(403);
    expect(await requestsTo(topic)).toBeNull();
  });

  it("refuses an expired token", async () => {
    const token = await hs256({ cap: { "*": ["admin"] }, exp: nowS() - 120 });
    expect((await call("GET", "/v1/topics", token)).status).toBe(401);
  });

  it("needs publish on the dead-letter topic to name it", async () => {
    const topic = freshTopic();
    const token = await tokenFor({ [topic]: ["admin"] });
    const res = await call("PUT", `/v1/topics/${topic}/subscriptions/s`, token, {
      body: JSON.stringify({ deadLetterTopic: "not-mine" }),
    });
    expect(res.status).toBe(403);
  });

  it("mints scoped tokens for the admin that the broker then accepts", async () => {
    const topic = freshTopic();
    const minted = await call("POST", "/v1/tokens", ADMIN_KEY, {
      body: JSON.stringify({ cap: { [topic]: ["subscribe"] }, ttl: "5m" }),
    });
    expect(minted.status).toBe(201);
    const { token, expiresAt } = (await minted.json()) as { token: string; expiresAt: number };
    expect(expiresAt).toBeGreaterThan(Date.now());
    await call("POST", `/v1/topics/${topic}/messages`, ADMIN_KEY, { body: "x" });
    expect((await call("GET", `/v1/topics/${topic}/messages`, token)).status).toBe(200);
    expect((await call("POST", `/v1/topics/${topic}/messages`, token, { body: "y" })).status).toBe(403);
  });

  it("refuses a token that expires in 5 s minting one that outlives it, and caps what it may mint", async () => {
    const shortLived = await hs256({ cap: { "*": ["admin"] }, exp: nowS() + 5 });
    const mint = (body: unknown) => call("POST", "/v1/tokens", shortLived, { body: JSON.stringify(body) });
    const refused = await mint({ cap: { "*": ["admin"] }, ttl: "366d" });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { code: string; detail: string }).detail).toMatch(/expires at .*Z/);
    const minted = await mint({ cap: { "*": ["subscribe"] }, ttl: "2s" });
    expect(minted.status).toBe(201);
    const { expiresAt } = (await minted.json()) as { expiresAt: number };
    expect(expiresAt).toBeLessThanOrEqual((nowS() + 5) * 1000);
    // The admin key never expires: it mints for as long as minting allows.
    const long = await call("POST", "/v1/tokens", ADMIN_KEY, {
      body: JSON.stringify({ cap: { "*": ["admin"] }, ttl: "366d" }),
    });
    expect(long.status).toBe(201);
  });

  it("lists only the topics a scoped token has rights on", async () => {
    const mine = freshTopic("scoped");
    const other = freshTopic("scoped");
    for (const t of [mine, other]) await call("PUT", `/v1/topics/${t}`, ADMIN_KEY, { body: "{}" });
    const res = await call("GET", "/v1/topics?prefix=scoped", await tokenFor({ [mine]: ["subscribe"] }));
    const { topics } = (await res.json()) as { topics: { name: string }[] };
    expect(topics.map((t) => t.name)).toEqual([mine]);
  });

  it("refuses every request while no credential is configured, saying what to set", async () => {
    const bare = { ...env, AUTH: "required" } as Env;
    const res = await app.fetch(new Request("http://broker/v1/topics"), bare, createExecutionContext());
    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/wrangler secret put ADMIN_KEY/);
  });
});
