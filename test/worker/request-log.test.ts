import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../src/http/app";
import { ADMIN_KEY, SECRET } from "./auth-fixtures";
import { freshTopic } from "./helpers";
import { call, expectProblem } from "./http-support";

/** The JSON lines the worker writes while `run` runs. */
async function linesOf(run: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const spies = (["log", "warn", "error"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(String(line))),
  );
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

afterEach(() => vi.restoreAllMocks());

describe("request ids and log lines", () => {
  it("answer every request with a Request-Id, which a problem carries as requestId", async () => {
    const ok = await call("GET", "/healthz");
    expect(ok.headers.get("request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await call("GET", `/v1/topics/${freshTopic()}`);
    const problem = await expectProblem(refused, 404, "not_found");
    expect((problem as { requestId?: string }).requestId).toBe(refused.headers.get("request-id"));
    expect(refused.headers.get("request-id")).not.toBe(ok.headers.get("request-id"));
  });

  it("reuse Cloudflare's cf-ray as the id, and never a header that could forge a log line", async () => {
    const ray = await call("GET", "/healthz", { headers: { "cf-ray": "8f1a2b3c4d5e6f70-LHR" } });
    expect(ray.headers.get("request-id")).toBe("8f1a2b3c4d5e6f70-LHR");
    const forged = await call("GET", "/healthz", { headers: { "cf-ray": 'x","level":"error' } });
    expect(forged.headers.get("request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("carry the id in refusals made before any route runs: auth, unknown routes, Durable Streams", async () => {
    const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;
    const unauthorized = await app.fetch(
      new Request("http://broker/v1/topics"),
      secured,
      createExecutionContext(),
    );
    const problem = await expectProblem(unauthorized, 401, "unauthorized");
    expect((problem as { requestId?: string }).requestId).toBe(unauthorized.headers.get("request-id"));
    expect(unauthorized.headers.get("www-authenticate")).toMatch(/^Bearer/);
    for (const res of [
      await call("GET", "/v1/nothing-here"),
      await call("PATCH", "/v1/topics"),
      await call("GET", "/ds/v1/stream/no%20such"),
    ]) {
      const body = (await res.json()) as { requestId?: string };
      expect(body.requestId).toBeDefined();
      expect(body.requestId).toBe(res.headers.get("request-id"));
    }
  });

  it("write one JSON line per request: method, path without the query, status, ms, id and topic", async () => {
    const topic = freshTopic();
    let res: Response | undefined;
    const lines = await linesOf(async () => {
      res = await call("POST", `/v1/topics/${topic}/messages?token=secret-token&key=k`, {
        body: "hi",
        headers: { "content-type": "text/plain" },
      });
    });
    const requests = lines.filter((line) => line.msg === "request");
    expect(requests).toHaveLength(1);
    expect(requests[0]).toEqual({
      level: "info",
      msg: "request",
      requestId: res?.headers.get("request-id"),
      method: "POST",
      path: `/v1/topics/${topic}/messages`,
      status: 201,
      ms: expect.any(Number),
      topic,
    });
    expect(JSON.stringify(lines)).not.toContain("secret-token");
  });

  it("name the problem's code in the line of a refused request", async () => {
    const lines = await linesOf(() =>
      call("POST", `/v1/topics/${freshTopic()}/batch`, { json: { messages: [] } }),
    );
    expect(lines.find((line) => line.msg === "request")).toMatchObject({
      level: "info",
      status: 400,
      code: "invalid_request",
    });
  });
});
