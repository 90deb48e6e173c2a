import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { openApiDocument } from "../../src/http/openapi/document";
import { NAME_PATTERN, NAME_RE } from "../../src/protocol/names";
import { ADMIN_KEY, SECRET } from "./auth-fixtures";
import { freshTopic } from "./helpers";
import { call, expectJson, expectProblem } from "./http-support";

// biome-ignore lint/suspicious/noExplicitAny: a JSON document, walked by path
type Json = Record<string, any>;

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

/** `METHOD /path/{param}` for every operation of the document. */
function documented(document: Json): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(document.paths as Json)) {
    for (const method of Object.keys(item)) {
      if (METHODS.includes(method)) out.add(`${method.toUpperCase()} ${path}`);
    }
  }
  return out;
}

/**
 * `METHOD /path/{param}` for every route the app serves: Hono's own list, less the middleware
 * and the 405 answers (`ALL`), and less `/ds`, which speaks Durable Streams, another protocol.
 */
function served(): Set<string> {
  const out = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL" || route.path.startsWith("/ds")) continue;
    out.add(`${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
  }
  return out;
}

describe("the OpenAPI document", () => {
  it("has every route the app serves, and every operation it has is served", () => {
    const routes = served();
    const operations = documented(openApiDocument());
    expect(
      [...routes].filter((r) => !operations.has(r)),
      "served but not documented",
    ).toEqual([]);
    expect(
      [...operations].filter((o) => !routes.has(o)),
      "documented but not served",
    ).toEqual([]);
    expect(routes.size).toBeGreaterThan(25);
  });

  it("is served at /v1/openapi.json as generated, without a credential even when auth is required", async () => {
    const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;
    const res = await app.fetch(
      new Request("http://broker/v1/openapi.json"),
      secured,
      createExecutionContext(),
    );
    const document = await expectJson<Json>(res, 200);
    expect(document).toEqual(openApiDocument());
    expect(document.openapi).toBe("3.1.0");
    // The rest of /v1 still needs one.
    await expectProblem(
      await app.fetch(new Request("http://broker/v1/topics"), secured, createExecutionContext()),
      401,
      "unauthorized",
    );
  });

  it("describes each body field with the very check the route applies", async () => {
    const schemas = (openApiDocument() as Json).components.schemas as Json;
    const max = schemas.Pull.properties.max;
    expect(max).toMatchObject({ type: "integer", minimum: 1, maximum: 1000 });
    const topic = freshTopic();
    await call("PUT", `/v1/topics/${topic}/subscriptions/s`, { json: {} });
    const problem = await expectProblem(
      await call("POST", `/v1/topics/${topic}/subscriptions/s/pull`, { json: { max: 0 } }),
      400,
      "invalid_request",
    );
    // The route's refusal is the field's description in the document, word for word.
    expect(problem.detail).toBe(`max ${max.description}`);
    expect(schemas.SubscriptionConfigPatch.additionalProperties).toBe(false);
    expect(schemas.SubscriptionConfigPatch.properties.ackTimeout.description).toBe(
      "must be a duration between 1s and 12h",
    );
    expect(schemas.TopicConfigPatch.properties.onFull.enum).toEqual(["reject", "drop-oldest"]);
    expect(schemas.Batch.properties.messages).toMatchObject({ type: "array", minItems: 1, maxItems: 1000 });
  });

  it("writes topic and subscription names with the pattern the broker checks them with", () => {
    expect(NAME_PATTERN).toBe(NAME_RE.source);
    const put = (openApiDocument() as Json).paths["/v1/topics/{topic}/subscriptions/{sub}"].put;
    expect(put.parameters.map((p: Json) => p.schema.pattern)).toEqual([NAME_PATTERN, NAME_PATTERN]);
  });

  it("documents query parameters from the route's schema, required or not", () => {
    const paths = (openApiDocument() as Json).paths as Json;
    const read = paths["/v1/topics/{topic}/messages"].get.parameters as Json[];
    expect(read.map((p) => `${p.in}:${p.name}:${p.required}`)).toEqual([
      "path:topic:true",
      "query:after:false",
      "query:limit:false",
      "query:wait:false",
    ]);
    const metrics = paths["/v1/metrics"].get.parameters as Json[];
    expect(metrics.find((p) => p.name === "limit")?.schema).toMatchObject({ minimum: 1, maximum: 100 });
  });

  it("names a unique operationId, a defined tag and a refusal for every operation", () => {
    const document = openApiDocument() as Json;
    const tags = new Set((document.tags as Json[]).map((t) => t.name));
    const ids = new Set<string>();
    for (const item of Object.values(document.paths as Json)) {
      for (const operation of Object.values(item as Json) as Json[]) {
        expect(ids.has(operation.operationId)).toBe(false);
        ids.add(operation.operationId);
        expect(tags.has(operation.tags[0])).toBe(true);
        expect(operation.responses.default).toEqual({ $ref: "#/components/responses/Problem" });
        const body = operation.requestBody?.content?.["application/json"]?.schema?.$ref as string | undefined;
        if (body) expect(document.components.schemas[body.split("/").at(-1) as string]).toBeDefined();
      }
    }
  });
});
