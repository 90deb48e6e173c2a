import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { Right } from "../../src/auth/capabilities";
import { type AuthEnv, auth, requireRight } from "../../src/auth/middleware";
import { call, envOf, hs256, SECRET } from "./auth-fixtures";

// One route per right, as the HTTP layer mounts them.
const ROUTES: Record<Right, (topic: string) => { path: string; method: string }> = {
  publish: (t) => ({ path: `/v1/topics/${t}/messages`, method: "POST" }),
  subscribe: (t) => ({ path: `/v1/topics/${t}/messages`, method: "GET" }),
  admin: (t) => ({ path: `/v1/topics/${t}`, method: "DELETE" }),
};

type Scope = "exact" | "prefix" | "other";

/** A topic and a pattern that covers it (exact, prefix) or does not (other). */
function scoped(scope: Scope): { topic: string; pattern: string } {
  const id = crypto.randomUUID();
  const topic = `t-${id}.orders`;
  if (scope === "exact") return { topic, pattern: topic };
  if (scope === "prefix") return { topic, pattern: `t-${id}.*` };
  return { topic, pattern: `t-${crypto.randomUUID()}.*` };
}

const rights: Right[] = ["publish", "subscribe", "admin"];
const scopes: Scope[] = ["exact", "prefix", "other"];

// granted right × required right × scope: allowed when the scope covers the topic and the
// granted right is the required one or admin.
const matrix = rights.flatMap((granted) =>
  rights.flatMap((required) =>
    scopes.map((scope) => ({
      granted,
      required,
      scope,
      allowed: scope !== "other" && (granted === required || granted === "admin"),
    })),
  ),
);

describe("the rights matrix, over real requests", () => {
  it.each(matrix)(
    "a $granted grant ($scope) on a route needing $required → allowed: $allowed",
    async (row) => {
      const { topic, pattern } = scoped(row.scope);
      const token = await hs256({ cap: { [pattern]: [row.granted] } });
      const { path, method } = ROUTES[row.required](topic);
      const res = await call({ AUTH: "required", JWT_SECRET: SECRET }, path, { method, token });
      expect(res.status).toBe(row.allowed ? 200 : 403);
    },
  );
});

describe("routes without a topic", () => {
  const vars = { AUTH: "required", JWT_SECRET: SECRET };

  it("need the right on `*`: a prefix admin may not mint tokens", async () => {
    const prefixAdmin = await hs256({ cap: { "orders.*": ["admin"] } });
    const starAdmin = await hs256({ cap: { "*": ["admin"] } });
    const starPublish = await hs256({ cap: { "*": ["publish"] } });
    expect((await call(vars, "/v1/tokens", { method: "POST", token: prefixAdmin })).status).toBe(403);
    expect((await call(vars, "/v1/tokens", { method: "POST", token: starPublish })).status).toBe(403);
    expect((await call(vars, "/v1/tokens", { method: "POST", token: starAdmin })).status).toBe(200);
  });

  it("grants add up across patterns", async () => {
    const id = crypto.randomUUID();
    const token = await hs256({ cap: { [`a-${id}`]: ["publish"], [`a-${id}*`]: ["subscribe"] } });
    expect((await call(vars, `/v1/topics/a-${id}/messages`, { method: "POST", token })).status).toBe(200);
    expect((await call(vars, `/v1/topics/a-${id}/messages`, { token })).status).toBe(200);
    expect((await call(vars, `/v1/topics/a-${id}x/messages`, { method: "POST", token })).status).toBe(403);
  });
});

describe("requireRight in a sub-app mounted with app.route, as the HTTP layer does", () => {
  it("reads :topic from the sub-app's route", async () => {
    const topics = new Hono<AuthEnv>();
    topics.post("/:topic/messages", requireRight("publish"), (c) => c.text(c.req.param("topic")));
    const app = new Hono<AuthEnv>();
    app.use("/v1/*", auth());
    app.route("/v1/topics", topics);

    const id = crypto.randomUUID();
    const token = await hs256({ cap: { [`t-${id}`]: ["publish"] } });
    const env = envOf({ AUTH: "required", JWT_SECRET: SECRET });
    const init = { method: "POST", headers: { Authorization: `Bearer ${token}` } };
    const mine = await app.request(`http://b/v1/topics/t-${id}/messages`, init, env);
    expect(mine.status).toBe(200);
    expect(await mine.text()).toBe(`t-${id}`);
    expect((await app.request(`http://b/v1/topics/t-${id}x/messages`, init, env)).status).toBe(403);
  });
});
