import { describe, expect, it, vi } from "vitest";
import type { TopicInfo } from "../../src/protocol/topic-rpc";
import { freshTopic } from "./helpers";
import { call, expectJson, expectProblem, topicExists } from "./http-support";

const put = (topic: string, json: unknown) => call("PUT", `/v1/topics/${topic}`, { json });

describe("PUT, GET and DELETE /v1/topics/{topic}", () => {
  it("creates a topic with 201 and a Location, then updates it with 200", async () => {
    const topic = freshTopic();
    const created = await put(topic, {});
    expect(created.headers.get("location")).toBe(`/v1/topics/${topic}`);
    const info = await expectJson<TopicInfo>(created, 201);
    expect(info).toMatchObject({ name: topic, epoch: expect.any(String), createdAt: expect.any(Number) });
    const updated = await expectJson<TopicInfo>(await put(topic, { onFull: "drop-oldest" }), 200);
    expect(updated.config.onFull).toBe("drop-oldest");
    expect(updated.epoch).toBe(info.epoch);
  });

  it("creates a topic from an empty body", async () => {
    const topic = freshTopic();
    await expectJson(await call("PUT", `/v1/topics/${topic}`), 201);
  });

  it("stores durations in milliseconds and accepts null to lift a limit", async () => {
    const topic = freshTopic();
    const body = { retention: { maxAge: "1h", maxMessages: 1000, maxBytes: null }, dedupWindow: "10m" };
    const info = await expectJson<TopicInfo>(await put(topic, body), 201);
    expect(info.config).toMatchObject({
      retention: { maxAge: 3_600_000, maxMessages: 1000, maxBytes: null },
      dedupWindow: 600_000,
    });
    const lifted = await expectJson<TopicInfo>(await put(topic, { retention: { maxAge: null } }), 200);
    expect(lifted.config.retention).toEqual({ maxAge: null, maxMessages: 1000, maxBytes: null });
  });

  it("answers GET with the topic's config and stats", async () => {
    const topic = freshTopic();
    await expectJson(await call("POST", `/v1/topics/${topic}/messages`, { body: "abc" }), 201);
    const info = await expectJson<TopicInfo>(await call("GET", `/v1/topics/${topic}`), 200);
    expect(info).toMatchObject({ name: topic, stats: { messages: 1, lastSeq: 1 } });
  });

  it("deletes a topic with 204 and then answers not_found", async () => {
    const topic = freshTopic();
    await expectJson(await put(topic, {}), 201);
    const deleted = await call("DELETE", `/v1/topics/${topic}`);
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    await expectProblem(await call("GET", `/v1/topics/${topic}`), 404, "not_found");
    await expectProblem(await call("DELETE", `/v1/topics/${topic}`), 404, "not_found");
  });

  it.each([
    [
      "retention.maxAge",
      { retention: { maxAge: 0 } },
      "retention.maxAge must be a positive duration or null",
    ],
    [
      "retention.maxMessages",
      { retention: { maxMessages: -1 } },
      "retention.maxMessages must be a positive integer or null",
    ],
    [
      "retention.maxBytes",
      { retention: { maxBytes: "1GB" } },
      "retention.maxBytes must be a positive integer or null",
    ],
    ["retention", { retention: 5 }, "retention must be a JSON object"],
    ["onFull", { onFull: "block" }, 'onFull must be "reject" or "drop-oldest"'],
    ["dedupWindow", { dedupWindow: "8d" }, "dedupWindow must be a duration between 0ms and 7d"],
    ["an unknown field", { retention: { maxCount: 3 } }, 'retention has an unknown field "maxCount"'],
    ["epoch", { epoch: "mine" }, "epoch is set by the broker and cannot be given"],
    ["stats", { stats: {} }, "stats is set by the broker and cannot be given"],
    ["a body that is not an object", ["x"], "request body must be a JSON object"],
  ])("refuses an invalid %s and creates nothing", async (_, body, detail) => {
    const topic = freshTopic();
    expect((await expectProblem(await put(topic, body), 400, "invalid_request")).detail).toBe(detail);
    expect(await topicExists(topic)).toBe(false);
  });

  it("refuses malformed JSON and a body over 64 KiB", async () => {
    const topic = freshTopic();
    const malformed = await call("PUT", `/v1/topics/${topic}`, {
      body: "{",
      headers: { "content-type": "application/json" },
    });
    await expectProblem(malformed, 400, "invalid_request");
    await expectProblem(await put(topic, { pad: "x".repeat(64 * 1024) }), 413, "payload_too_large");
    expect(await topicExists(topic)).toBe(false);
  });

  it("reads a JSON body sent without a JSON content type, as curl -d sends it", async () => {
    const topic = freshTopic();
    const res = await call("PUT", `/v1/topics/${topic}`, {
      body: '{"onFull":"reject"}',
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    await expectJson(res, 201);
  });
});

describe("GET /v1/topics", () => {
  it("lists topics by prefix, a page at a time", async () => {
    const prefix = `list-${crypto.randomUUID().slice(0, 8)}`;
    for (const n of ["a", "b", "c"]) await expectJson(await put(`${prefix}.${n}`, {}), 201);
    type Listing = { topics: { name: string; createdAt: number }[]; cursor: string | null };
    // A topic tells the registry after it answers its creator, so the catalogue catches up shortly after.
    const first = await vi.waitFor(
      async () => {
        const page = await expectJson<Listing>(await call("GET", `/v1/topics?prefix=${prefix}&limit=2`), 200);
        expect(page.topics.map((t) => t.name)).toEqual([`${prefix}.a`, `${prefix}.b`]);
        return page;
      },
      { timeout: 3_000, interval: 50 },
    );
    expect(first.cursor).toEqual(expect.any(String));
    const cursor = encodeURIComponent(first.cursor ?? "");
    const second = await expectJson<Listing>(
      await call("GET", `/v1/topics?prefix=${prefix}&limit=2&cursor=${cursor}`),
      200,
    );
    expect(second).toEqual({
      topics: [{ name: `${prefix}.c`, createdAt: expect.any(Number) }],
      cursor: null,
    });
  });

  it.each([
    ["?limit=0", "limit must be an integer between 1 and 1000"],
    ["?limit=5000", "limit must be an integer between 1 and 1000"],
    ["?prefix=a%20b", /^prefix must be at most 128 letters/],
  ])("refuses %s", async (query, detail) => {
    const problem = await expectProblem(await call("GET", `/v1/topics${query}`), 400, "invalid_request");
    if (typeof detail === "string") expect(problem.detail).toBe(detail);
    else expect(problem.detail).toMatch(detail);
  });
});

describe("the topic listing", () => {
  it("lists a topic as soon as the request that created it is answered", async () => {
    const prefix = freshTopic("listed");
    const byPublish = `${prefix}.a`;
    const byPut = `${prefix}.b`;
    const bySubscription = `${prefix}.c`;
    await expectJson(await call("POST", `/v1/topics/${byPublish}/messages`, { body: "x" }), 201);
    await expectJson(await call("PUT", `/v1/topics/${byPut}`, { json: {} }), 201);
    await expectJson(await call("PUT", `/v1/topics/${bySubscription}/subscriptions/s`, { json: {} }), 201);
    const listed = await expectJson<{ topics: { name: string }[] }>(
      await call("GET", `/v1/topics?prefix=${prefix}`),
      200,
    );
    expect(listed.topics.map((t) => t.name)).toEqual([byPublish, byPut, bySubscription]);
  });
});
