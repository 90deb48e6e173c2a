import { createExecutionContext, evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { ADMIN_KEY, hs256, nowS, SECRET } from "./auth-fixtures";
import { freshTopic, sqlIn, topicStub } from "./helpers";
import { call, expectProblem, topicExists } from "./http-support";

const path = (name: string) => `/ds/v1/stream/${name}`;
const put = (name: string, headers: Record<string, string> = {}, body?: string) =>
  call("PUT", path(name), {
    headers: { "content-type": "text/plain", ...headers },
    ...(body !== undefined && { body }),
  });
const append = (name: string, body: string, headers: Record<string, string> = {}) =>
  call("POST", path(name), { body, headers: { "content-type": "text/plain", ...headers } });

describe("Durable Streams on topics", () => {
  it("keeps a stream's state in SQLite: a close written there holds after eviction", async () => {
    const name = freshTopic();
    expect((await put(name, {}, "a")).status).toBe(201);
    const [row] = await sqlIn<{ value: string }>(name, "SELECT value FROM stream");
    const state = JSON.parse(row?.value ?? "{}");
    await sqlIn(name, "UPDATE stream SET value = ?", JSON.stringify({ ...state, closed: true }));
    await evictDurableObject(topicStub(name));
    const refused = await append(name, "b");
    await expectProblem(refused, 409, "conflict");
    expect(refused.headers.get("Stream-Closed")).toBe("true");
  });

  it("deletes an expired stream from its alarm, with its topic", async () => {
    const name = freshTopic();
    expect((await put(name, { "Stream-TTL": "3600" }, "a")).status).toBe(201);
    const [row] = await sqlIn<{ value: string }>(name, "SELECT value FROM stream");
    const state = JSON.parse(row?.value ?? "{}");
    // An hour and a bit ago: the TTL has run out, and only the alarm is left to notice.
    await sqlIn(
      name,
      "UPDATE stream SET value = ?",
      JSON.stringify({ ...state, touchedAt: Date.now() - 3_700_000 }),
    );
    await evictDurableObject(topicStub(name));
    expect(await runDurableObjectAlarm(topicStub(name))).toBe(true);
    expect(await topicExists(name)).toBe(false);
    expect((await call("HEAD", path(name))).status).toBe(404);
  });

  it("refuses names that are not topic names, and offsets it did not hand out, writing nothing", async () => {
    await expectProblem(await put("no spaces here"), 400, "invalid_name");
    const name = freshTopic();
    expect((await put(name, {}, "a")).status).toBe(201);
    for (const offset of [
      "0,1",
      "abc",
      "1111111111111111_0000000000000001",
      "0000000000000000_0000000000000009",
    ]) {
      const res = await call("GET", `${path(name)}?offset=${encodeURIComponent(offset)}`);
      await expectProblem(res, 400, "invalid_request");
    }
  });

  it("reads a native topic as an open binary stream", async () => {
    const name = freshTopic();
    await call("POST", `/v1/topics/${name}/messages`, {
      body: "ab",
      headers: { "content-type": "text/plain" },
    });
    await call("POST", `/v1/topics/${name}/messages`, {
      body: "cd",
      headers: { "content-type": "text/plain" },
    });
    const res = await call("GET", path(name));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(res.headers.get("Stream-Next-Offset")).toBe("0000000000000000_0000000000000002");
    expect(await res.text()).toBe("abcd");
  });

  it("asks the rest of the API's rights: admin to create and close, publish to append, subscribe to read", async () => {
    const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;
    const name = freshTopic();
    const as = async (cap: string[], method: string, headers: Record<string, string> = {}, body?: string) =>
      app.fetch(
        new Request(`http://broker${path(name)}`, {
          method,
          body: body ?? null,
          headers: {
            authorization: `Bearer ${await hs256({ cap: { [name]: cap }, exp: nowS() + 600 })}`,
            "content-type": "text/plain",
            ...headers,
          },
        }),
        secured,
        createExecutionContext(),
      );
    expect((await as(["publish", "subscribe"], "PUT")).status).toBe(403);
    expect((await as(["admin"], "PUT")).status).toBe(201);
    expect((await as(["subscribe"], "POST", {}, "x")).status).toBe(403);
    expect((await as(["publish"], "POST", {}, "x")).status).toBe(204);
    expect((await as(["publish"], "POST", { "Stream-Closed": "true" })).status).toBe(403);
    expect((await as(["publish"], "GET")).status).toBe(403);
    expect((await as(["subscribe"], "GET")).status).toBe(200);
    expect((await as(["subscribe"], "DELETE")).status).toBe(403);
    const anonymous = await app.fetch(
      new Request(`http://broker${path(name)}`),
      secured,
      createExecutionContext(),
    );
    expect(anonymous.status).toBe(401);
  });

  it("lets a source deleted under its forks go once the last fork is deleted, through either API", async () => {
    const source = freshTopic();
    const fork = freshTopic();
    expect((await put(source, {}, "data")).status).toBe(201);
    expect((await put(fork, { "Stream-Forked-From": path(source) })).status).toBe(201);
    expect(await (await call("GET", path(fork))).text()).toBe("data");
    expect((await call("DELETE", path(source))).status).toBe(204);
    expect((await call("HEAD", path(source))).status).toBe(410);
    await expectProblem(await call("POST", `/v1/topics/${source}/messages`, { body: "x" }), 409, "conflict");
    expect((await call("DELETE", `/v1/topics/${fork}`)).status).toBe(204);
    expect(await topicExists(source)).toBe(false);
  });
});
