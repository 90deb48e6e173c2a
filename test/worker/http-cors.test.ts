import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { freshTopic } from "./helpers";

const preflight = (origin: string, vars: Record<string, string> = {}) =>
  app.fetch(
    new Request(`http://broker/v1/topics/${freshTopic()}/messages`, {
      method: "OPTIONS",
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
      },
    }),
    { ...env, AUTH: "required", ADMIN_KEY: "admin-key-0123456789abcdef", ...vars } as Env,
    createExecutionContext(),
  );

describe("CORS", () => {
  it("answers a preflight from any origin without a token, allowing the headers asked for", async () => {
    const res = await preflight("https://app.example");
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("authorization");
    expect(res.headers.get("Access-Control-Allow-Methods")).toContain("POST");
  });

  it("allows only the listed origins when ALLOWED_ORIGINS is set", async () => {
    const vars = { ALLOWED_ORIGINS: "https://app.example" };
    expect((await preflight("https://app.example", vars)).headers.get("Access-Control-Allow-Origin")).toBe(
      "https://app.example",
    );
    expect(
      (await preflight("https://evil.example", vars)).headers.get("Access-Control-Allow-Origin"),
    ).toBeNull();
  });

  it("exposes Retry-After and Location on answers to browsers", async () => {
    const res = await app.fetch(
      new Request("http://broker/v1/topics", { headers: { Origin: "https://app.example" } }),
      { ...env, AUTH: "off" } as Env,
      createExecutionContext(),
    );
    expect(res.headers.get("Access-Control-Expose-Headers")).toContain("Retry-After");
  });
});
