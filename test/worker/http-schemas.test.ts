import { describe, expect, it } from "vitest";
import { TOPIC_CONFIG_LIMITS } from "../../src/protocol/topic-config";
import type { ErrorFrame } from "../../src/protocol/ws-frames";
import { freshTopic } from "./helpers";
import { call, expectJson, expectProblem, readAll } from "./http-support";
import { openSocket } from "./ws-helpers";

const ORDER = {
  type: "object",
  required: ["id", "total"],
  properties: { id: { type: "integer" }, total: { type: "number", minimum: 0 } },
};

async function topicWithSchema(schema: unknown = ORDER): Promise<string> {
  const topic = freshTopic("orders");
  await expectJson(await call("PUT", `/v1/topics/${topic}`, { json: { schema } }), 201);
  return topic;
}

const publish = (topic: string, body: string, type = "application/json") =>
  call("POST", `/v1/topics/${topic}/messages`, { body, headers: { "content-type": type } });

describe("topic schemas", () => {
  it("let a JSON message that fits be published", async () => {
    const topic = await topicWithSchema();
    await expectJson(await publish(topic, '{"id": 1, "total": 9.5}'), 201);
    expect((await readAll(topic)).map((m) => m.data)).toEqual([{ id: 1, total: 9.5 }]);
  });

  it("refuse one that does not with 422 schema_violation, listing each path and reason, writing nothing", async () => {
    const topic = await topicWithSchema();
    const problem = await expectProblem(
      await publish(topic, '{"id": "7", "total": -1}'),
      422,
      "schema_violation",
    );
    expect(problem.errors).toEqual([
      { path: "/id", reason: 'Instance type "string" is invalid. Expected "integer".' },
      { path: "/total", reason: "-1 is less than 0." },
    ]);
    expect(problem.detail).toBe(
      `the message does not fit the topic's schema: /id: Instance type "string" is invalid. Expected "integer". (and 1 more, listed in errors)`,
    );
    expect(await readAll(topic)).toEqual([]);
  });

  it("refuse a batch whole when one entry does not fit, naming the entry", async () => {
    const topic = await topicWithSchema();
    const batch = {
      messages: [{ data: { id: 1, total: 1 } }, { data: { id: 2 } }, { data: { id: 3, total: 3 } }],
    };
    const problem = await expectProblem(
      await call("POST", `/v1/topics/${topic}/batch`, { json: batch }),
      422,
      "schema_violation",
    );
    expect(problem.errors).toEqual([
      { index: 1, path: "", reason: 'Instance does not have required property "total".' },
    ]);
    expect(await readAll(topic)).toEqual([]);
  });

  it("refuse bodies that are not JSON on a topic with a schema", async () => {
    const topic = await topicWithSchema();
    for (const type of ["text/plain", "application/octet-stream"]) {
      const problem = await expectProblem(await publish(topic, "hello", type), 422, "schema_violation");
      expect(problem.errors).toEqual([
        { path: "", reason: `the topic has a schema, so the body must be JSON, not ${type}` },
      ]);
    }
    // application/*+json is JSON.
    await expectJson(await publish(topic, '{"id": 1, "total": 0}', "application/vnd.order+json"), 201);
  });

  it("refuse a socket publish that does not fit, with the reasons in the error frame", async () => {
    const topic = await topicWithSchema();
    const socket = await openSocket(topic);
    socket.send({ type: "publish", id: "p1", data: { id: 1, total: -5 } });
    const frames = await socket.until((f) => f.some((frame) => frame.type === "error"));
    expect(frames.find((f) => f.type === "error") as ErrorFrame).toMatchObject({
      code: "schema_violation",
      id: "p1",
      errors: [{ path: "/total", reason: "-5 is less than 0." }],
    });
    socket.ws.close(1000);
  });

  it("are refused at PUT when they are not 2020-12, do not resolve, or are too large; null removes one", async () => {
    const topic = freshTopic();
    const bad = async (schema: unknown, detail: string) => {
      const problem = await expectProblem(
        await call("PUT", `/v1/topics/${topic}`, { json: { schema } }),
        400,
        "invalid_request",
      );
      expect(problem.detail).toContain(detail);
    };
    await bad({ $ref: "https://example.com/order.json" }, "schema has a $ref");
    await bad({ $schema: "http://json-schema.org/draft-07/schema#" }, "schema must be JSON Schema 2020-12");
    await bad([1], "schema must be a JSON Schema");
    await bad({ description: "x".repeat(TOPIC_CONFIG_LIMITS.schemaCharacters) }, "schema must be at most");
    const withSchema = await topicWithSchema();
    await expectJson(await call("PUT", `/v1/topics/${withSchema}`, { json: { schema: null } }), 200);
    await expectJson(await publish(withSchema, "anything", "text/plain"), 201);
  });
});
