import { describe, expect, it } from "vitest";
import { version } from "../../package.json";
import { freshTopic } from "./helpers";
import { call, expectJson, expectProblem, topicExists } from "./http-support";

describe("routing and errors", () => {
  it("answers liveness on /healthz with the running release from package.json", async () => {
    expect(await expectJson(await call("GET", "/healthz"), 200)).toEqual({ ok: true, version });
  });

  it("answers HEAD like GET, without a body", async () => {
    const res = await call("HEAD", "/healthz");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it("answers an unknown route with a not_found problem", async () => {
    const problem = await expectProblem(await call("GET", "/v1/nothing-here"), 404, "not_found");
    expect(problem.detail).toContain("/v1/nothing-here");
    await expectProblem(await call("GET", "/v2/topics"), 404, "not_found");
    await expectProblem(await call("POST", `/v1/topics/${freshTopic()}/unknown`), 404, "not_found");
  });

  it.each([
    ["POST", "/healthz", "GET, HEAD"],
    ["DELETE", "/v1/topics", "GET, HEAD"],
    ["PATCH", "/v1/topics/{t}", "GET, PUT, DELETE, HEAD"],
    ["DELETE", "/v1/topics/{t}/messages", "GET, POST, HEAD"],
    ["GET", "/v1/topics/{t}/batch", "POST"],
    ["POST", "/v1/topics/{t}/subscriptions", "GET, HEAD"],
    ["POST", "/v1/topics/{t}/subscriptions/s", "GET, PUT, DELETE, HEAD"],
    ["GET", "/v1/topics/{t}/subscriptions/s/pull", "POST"],
    ["PUT", "/v1/topics/{t}/subscriptions/s/ack", "POST"],
    ["GET", "/v1/topics/{t}/subscriptions/s/nack", "POST"],
    ["DELETE", "/v1/topics/{t}/subscriptions/s/extend", "POST"],
    ["GET", "/v1/topics/{t}/subscriptions/s/seek", "POST"],
  ])("refuses %s %s with 405 and an Allow header", async (method, path, allow) => {
    const topic = freshTopic();
    const res = await call(method, path.replace("{t}", topic));
    expect(res.headers.get("allow")).toBe(allow);
    const problem = await expectProblem(res, 405, "invalid_request");
    expect(problem.detail).toContain(method);
    expect(await topicExists(topic)).toBe(false);
  });

  it.each([
    ["starts with a dash", "-orders"],
    ["contains a space", "a%20b"],
    ["contains an encoded slash", "a%2Fb"],
    ["is longer than 128 characters", "a".repeat(129)],
    ["contains a non-ASCII letter", "caf%C3%A9"],
  ])("refuses a topic name that %s with invalid_name", async (_, name) => {
    await expectProblem(await call("GET", `/v1/topics/${name}`), 400, "invalid_name");
    await expectProblem(await call("PUT", `/v1/topics/${name}`, { json: {} }), 400, "invalid_name");
    await expectProblem(
      await call("POST", `/v1/topics/${name}/messages`, { body: "x" }),
      400,
      "invalid_name",
    );
    await expectProblem(await call("GET", `/v1/topics/${name}/messages`), 400, "invalid_name");
    await expectProblem(
      await call("POST", `/v1/topics/${name}/batch`, { json: { messages: [{ data: 1 }] } }),
      400,
      "invalid_name",
    );
    await expectProblem(await call("GET", `/v1/topics/${name}/subscriptions`), 400, "invalid_name");
  });

  it("accepts a name of exactly 128 characters with dots, dashes and underscores", async () => {
    const name = `A${crypto.randomUUID()}._-`.padEnd(128, "z");
    expect(name).toHaveLength(128);
    await expectJson(await call("PUT", `/v1/topics/${name}`, { json: {} }), 201);
  });

  it("refuses an invalid subscription name with invalid_name and creates nothing", async () => {
    const topic = freshTopic();
    const sub = "_private";
    await expectProblem(
      await call("PUT", `/v1/topics/${topic}/subscriptions/${sub}`, { json: {} }),
      400,
      "invalid_name",
    );
    await expectProblem(await call("GET", `/v1/topics/${topic}/subscriptions/${sub}`), 400, "invalid_name");
    await expectProblem(
      await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/ack`, { json: { seqs: [1] } }),
      400,
      "invalid_name",
    );
    expect(await topicExists(topic)).toBe(false);
  });

  it("marks API answers, errors included, as not cacheable", async () => {
    const topic = freshTopic();
    const created = await call("PUT", `/v1/topics/${topic}`, { json: {} });
    expect(created.headers.get("cache-control")).toBe("no-store");
    const missing = await call("GET", `/v1/topics/${freshTopic()}`);
    expect(missing.headers.get("cache-control")).toBe("no-store");
    await expectProblem(missing, 404, "not_found");
  });
});
