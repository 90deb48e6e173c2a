import { describe, expect, it } from "vitest";
import { type AuthVars, NO_CREDENTIALS_DETAIL } from "../../src/auth/config";
import { ADMIN_KEY, call, hs256, jwks, keyPair, problemOf, SECRET } from "./auth-fixtures";

const topic = () => `t-${crypto.randomUUID()}`;

async function refusal(vars: AuthVars, init: RequestInit & { token?: string } = {}): Promise<string> {
  const res = await call(vars, "/v1/whoami", init);
  expect(res.status).toBe(401);
  expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-broker"');
  const body = await problemOf(res);
  expect(body.code).toBe("unauthorized");
  return body.detail;
}

describe("a broker without credentials fails closed", () => {
  it("refuses every request when AUTH=required and no secret is set, saying what to set", async () => {
    expect(await refusal({ AUTH: "required" })).toBe(
      "This broker has no credentials configured. Set one with `wrangler secret put ADMIN_KEY` (or JWT_SECRET / JWT_PUBLIC_KEYS), or set AUTH=off for local development.",
    );
    expect(NO_CREDENTIALS_DETAIL).toContain("wrangler secret put ADMIN_KEY");
  });

  it("treats a missing or empty AUTH as required", async () => {
    expect(await refusal({})).toBe(NO_CREDENTIALS_DETAIL);
    expect(await refusal({ AUTH: "" })).toBe(NO_CREDENTIALS_DETAIL);
    expect(await refusal({ AUTH: "required", ADMIN_KEY: "   ", JWT_SECRET: "" })).toBe(NO_CREDENTIALS_DETAIL);
  });

  it("refuses even a request that carries a would-be token", async () => {
    const token = await hs256({ cap: { "*": ["admin"] } });
    expect(await refusal({ AUTH: "required" }, { token })).toBe(NO_CREDENTIALS_DETAIL);
  });

  it("refuses an AUTH value it does not know instead of guessing", async () => {
    expect(await refusal({ AUTH: "disabled", ADMIN_KEY })).toContain('AUTH must be "required" or "off"');
  });

  it("lets a route mounted before the middleware answer (health checks stay public)", async () => {
    const res = await call({ AUTH: "required" }, "/healthz");
    expect(res.status).toBe(200);
  });
});

describe("malformed secrets fail closed with a sentence naming them", () => {
  const cases: { name: string; vars: () => Promise<AuthVars> | AuthVars; detail: string }[] = [
    {
      name: "JWT_PUBLIC_KEYS that is not JSON",
      vars: () => ({ AUTH: "required", JWT_PUBLIC_KEYS: "{keys: nope" }),
      detail: "JWT_PUBLIC_KEYS is not valid JSON",
    },
    {
      name: "JWT_PUBLIC_KEYS without keys",
      vars: () => ({ AUTH: "required", JWT_PUBLIC_KEYS: '{"keys":[]}' }),
      detail: "must hold at least one key",
    },
    {
      name: "JWT_PUBLIC_KEYS with a symmetric key",
      vars: () => ({ AUTH: "required", JWT_PUBLIC_KEYS: jwks({ kty: "oct", k: "c2VjcmV0" }) }),
      detail: "kty must be EC (P-256) or RSA",
    },
    {
      name: "JWT_PUBLIC_KEYS with a P-384 key",
      vars: () => ({
        AUTH: "required",
        JWT_PUBLIC_KEYS: jwks({ kty: "EC", crv: "P-384", x: "AA", y: "AA" }),
      }),
      detail: "must be P-256",
    },
    {
      name: "JWT_PUBLIC_KEYS holding a private key",
      vars: async () => {
        const { generateKeyPair, exportJWK } = await import("jose");
        const { privateKey } = await generateKeyPair("ES256", { extractable: true });
        return { AUTH: "required", JWT_PUBLIC_KEYS: jwks(await exportJWK(privateKey)) };
      },
      detail: "private key material",
    },
    {
      name: "JWT_PUBLIC_KEYS with a point that is not on the curve",
      vars: async () => {
        const { publicJwk } = await keyPair("ES256", "k1");
        return { AUTH: "required", JWT_PUBLIC_KEYS: jwks({ ...publicJwk, y: publicJwk.x }) };
      },
      detail: 'JWT_PUBLIC_KEYS key "k1" cannot be imported as an ES256 public key',
    },
    {
      name: "a JWT_SECRET shorter than 32 bytes",
      vars: () => ({ AUTH: "required", JWT_SECRET: "short" }),
      detail: "JWT_SECRET must be at least 32 bytes long",
    },
    {
      name: "an ADMIN_KEY shorter than 16 characters",
      vars: () => ({ AUTH: "required", ADMIN_KEY: "admin" }),
      detail: "ADMIN_KEY must be at least 16 characters long",
    },
    {
      name: "an ALLOWED_ORIGINS entry that is not an origin",
      vars: () => ({ AUTH: "required", ADMIN_KEY, ALLOWED_ORIGINS: "https://ok.example, app.example.com/x" }),
      detail: 'ALLOWED_ORIGINS entry "app.example.com/x" is not an origin',
    },
  ];

  it.each(cases)("refuses every request when given $name", async ({ vars, detail }) => {
    // A valid admin key alongside does not rescue a broken configuration.
    const configured = { ADMIN_KEY, ...(await vars()) };
    expect(await refusal(configured, { token: ADMIN_KEY })).toContain(detail);
  });
});

describe("AUTH=off", () => {
  it("lets every request through as the open principal, with every right", async () => {
    const name = topic();
    const res = await call({ AUTH: "off" }, `/v1/topics/${name}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    const { principal } = (await res.json()) as { principal: { kind: string } };
    expect(principal.kind).toBe("open");
  });

  it("still parses JWT_SECRET so tokens can be minted locally, and still refuses a broken one", async () => {
    expect((await call({ AUTH: "off", JWT_SECRET: SECRET }, "/v1/whoami")).status).toBe(200);
    expect(await refusal({ AUTH: "off", JWT_SECRET: "short" })).toContain("JWT_SECRET");
  });
});

describe("the Origin allowlist of WebSocket upgrades", () => {
  const vars: AuthVars = {
    AUTH: "required",
    ADMIN_KEY,
    ALLOWED_ORIGINS: "https://app.example.com,http://localhost:5173",
  };
  const upgrade = (origin: string | null): RequestInit & { token: string } => ({
    token: ADMIN_KEY,
    headers: { Upgrade: "websocket", ...(origin !== null && { Origin: origin }) },
  });
  const ws = `/v1/topics/t-${crypto.randomUUID()}/ws`;

  it("refuses an upgrade from an origin outside ALLOWED_ORIGINS with 403, even with a valid token", async () => {
    const res = await call(vars, ws, upgrade("https://evil.example"));
    expect(res.status).toBe(403);
    expect((await problemOf(res)).detail).toContain("ALLOWED_ORIGINS");
  });

  it("refuses the opaque origin `null` (sandboxed frames, file:// pages)", async () => {
    expect((await call(vars, ws, upgrade("null"))).status).toBe(403);
  });

  it("accepts an upgrade from a listed origin and from a client that sends no Origin", async () => {
    expect((await call(vars, ws, upgrade("https://app.example.com"))).status).toBe(200);
    expect((await call(vars, ws, upgrade("http://localhost:5173"))).status).toBe(200);
    expect((await call(vars, ws, upgrade(null))).status).toBe(200);
  });

  it("checks the origin with AUTH=off too", async () => {
    const res = await call({ ...vars, AUTH: "off" }, ws, upgrade("https://evil.example"));
    expect(res.status).toBe(403);
  });

  it("leaves plain HTTP requests from other origins to CORS", async () => {
    const res = await call(vars, ws, { token: ADMIN_KEY, headers: { Origin: "https://evil.example" } });
    expect(res.status).toBe(200);
  });
});
