import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { ADMIN_PRINCIPAL, type Cap, principalFromCap } from "../../src/auth/capabilities";
import { MintRequestSchema, mintToken } from "../../src/auth/mint";
import { call, SECRET } from "./auth-fixtures";

const vars = { AUTH: "required", JWT_SECRET: SECRET };

describe("mintToken", () => {
  it("mints an HS256 token the middleware accepts, scoped to its cap", async () => {
    const topic = `t-${crypto.randomUUID()}`;
    const minted = await mintToken(
      { cap: { [topic]: ["publish"] }, ttl: "15m", sub: "svc" },
      vars,
      ADMIN_PRINCIPAL,
    );
    if (!minted.ok) throw new Error(minted.detail);
    const { token } = minted.value;
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
    expect((await call(vars, `/v1/topics/${topic}/messages`, { method: "POST", token })).status).toBe(200);
    expect((await call(vars, `/v1/topics/${topic}/messages`, { token })).status).toBe(403);
  });

  it("sets exp from ttl and reports it in ms, with iat now", async () => {
    const before = Math.floor(Date.now() / 1000);
    const minted = await mintToken({ cap: { "*": ["subscribe"] }, ttl: "1h" }, vars, ADMIN_PRINCIPAL);
    if (!minted.ok) throw new Error(minted.detail);
    const claims = decodeJwt(minted.value.token);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp).toBe((claims.iat as number) + 3600);
    expect(minted.value.expiresAt).toBe((claims.exp as number) * 1000);
  });

  it("defaults ttl to one hour", async () => {
    const minted = await mintToken({ cap: { "*": ["subscribe"] } }, vars, ADMIN_PRINCIPAL);
    if (!minted.ok) throw new Error(minted.detail);
    const claims = decodeJwt(minted.value.token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
  });

  it("adds iss and aud when the broker checks them, so its tokens pass its own checks", async () => {
    const strict = { ...vars, JWT_ISSUER: "https://broker.example", JWT_AUDIENCE: "edge-broker" };
    const minted = await mintToken({ cap: { "*": ["admin"] } }, strict, ADMIN_PRINCIPAL);
    if (!minted.ok) throw new Error(minted.detail);
    const claims = decodeJwt(minted.value.token);
    expect(claims.iss).toBe("https://broker.example");
    expect(claims.aud).toBe("edge-broker");
    expect((await call(strict, "/v1/tokens", { method: "POST", token: minted.value.token })).status).toBe(
      200,
    );
  });

  it.each([
    ["a ttl below one second", "500ms"],
    ["a ttl above 366 days", "367d"],
    ["a ttl that is not a duration", "soon"],
  ])("refuses %s", async (_, ttl) => {
    const minted = await mintToken({ cap: { "*": ["subscribe"] }, ttl }, vars, ADMIN_PRINCIPAL);
    expect(minted).toMatchObject({ ok: false, code: "invalid_request" });
  });

  it("refuses a malformed cap", async () => {
    const minted = await mintToken({ cap: { "a*b": ["publish"] } }, vars, ADMIN_PRINCIPAL);
    expect(minted).toMatchObject({ ok: false, code: "invalid_request" });
  });

  it("refuses to mint without JWT_SECRET and says how to set it", async () => {
    const minted = await mintToken(
      { cap: { "*": ["subscribe"] } },
      { AUTH: "required", ADMIN_KEY: "x".repeat(16) },
      ADMIN_PRINCIPAL,
    );
    expect(minted).toMatchObject({ ok: false, code: "invalid_request" });
    if (!minted.ok) expect(minted.detail).toContain("wrangler secret put JWT_SECRET");
  });
});

describe("a token minted by a token", () => {
  const nowMs = () => Date.now();

  it("never outlives its minter: a ttl past the minter's expiry is refused, saying until when", async () => {
    const expiresAt = (Math.floor(nowMs() / 1000) + 5) * 1000;
    const minter = principalFromCap({ "*": ["admin"] }, { expiresAt });
    const refused = await mintToken({ cap: { "*": ["admin"] }, ttl: "366d" }, vars, minter);
    expect(refused).toMatchObject({ ok: false, code: "invalid_request" });
    if (!refused.ok) {
      expect(refused.detail).toContain(new Date(expiresAt).toISOString());
      expect(refused.detail).toMatch(/ttl/);
    }
    const minted = await mintToken({ cap: { "*": ["admin"] }, ttl: "2s" }, vars, minter);
    if (!minted.ok) throw new Error(minted.detail);
    expect(minted.value.expiresAt).toBeLessThanOrEqual(expiresAt);
    expect((decodeJwt(minted.value.token).exp as number) * 1000).toBeLessThanOrEqual(expiresAt);
  });

  it("refuses to mint at all for a minter whose exp has passed (inside the clock tolerance)", async () => {
    const expiresAt = (Math.floor(nowMs() / 1000) - 10) * 1000;
    const minter = principalFromCap({ "*": ["admin"] }, { expiresAt });
    const refused = await mintToken({ cap: { "*": ["subscribe"] }, ttl: "1s" }, vars, minter);
    expect(refused).toMatchObject({ ok: false, code: "invalid_request" });
  });

  it("never exceeds its minter's rights: a pattern or right the minter lacks is forbidden", async () => {
    const minter = principalFromCap(
      { "orders.*": ["publish", "subscribe"], "chat.room-1": ["admin"] },
      { expiresAt: nowMs() + 3_600_000 },
    );
    const forbidden: Cap[] = [
      { "orders.eu": ["admin"] },
      { "orders*": ["publish"] },
      { "*": ["subscribe"] },
      { "chat.*": ["subscribe"] },
      { "orders.eu.*": ["publish"], billing: ["subscribe"] },
    ];
    for (const cap of forbidden) {
      const refused = await mintToken({ cap, ttl: "1m" }, vars, minter);
      expect({ cap, refused }).toMatchObject({ cap, refused: { ok: false, code: "forbidden" } });
    }
    const refused = await mintToken({ cap: { billing: ["subscribe"] } }, vars, minter);
    expect(refused).toEqual({
      ok: false,
      code: "forbidden",
      detail: 'this credential cannot grant "subscribe" on "billing": it does not hold that right there',
    });
    const allowed: Cap[] = [
      { "orders.eu": ["publish", "subscribe"] },
      { "orders.eu.*": ["publish"] },
      { "chat.room-1": ["admin", "publish"] },
    ];
    for (const cap of allowed) {
      const minted = await mintToken({ cap, ttl: "1m" }, vars, minter);
      expect({ cap, ok: minted.ok }).toEqual({ cap, ok: true });
    }
  });
});

describe("MintRequestSchema (the body of POST /v1/tokens)", () => {
  it("accepts {cap, ttl, sub} and refuses unknown fields and bad caps", () => {
    expect(
      MintRequestSchema.safeParse({ cap: { "orders.*": ["publish"] }, ttl: "1h", sub: "a" }).success,
    ).toBe(true);
    expect(MintRequestSchema.safeParse({ cap: { "orders.*": ["publish"] }, exp: 1 }).success).toBe(false);
    expect(MintRequestSchema.safeParse({ cap: { "orders.*": ["fly"] } }).success).toBe(false);
    expect(MintRequestSchema.safeParse({}).success).toBe(false);
  });
});
