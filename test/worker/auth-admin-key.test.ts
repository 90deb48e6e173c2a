import { describe, expect, it } from "vitest";
import { adminKeyMatches } from "../../src/auth/admin-key";
import { ADMIN_KEY, call, hs256, problemOf, SECRET } from "./auth-fixtures";

describe("adminKeyMatches", () => {
  it("accepts exactly the admin key", async () => {
    expect(await adminKeyMatches(ADMIN_KEY, ADMIN_KEY)).toBe(true);
  });

  it.each([
    ["a key differing in the last character", `${ADMIN_KEY.slice(0, -1)}X`],
    ["a key differing in the first character", `X${ADMIN_KEY.slice(1)}`],
    ["a prefix of the key", ADMIN_KEY.slice(0, 8)],
    ["the key with a suffix", `${ADMIN_KEY}0`],
    ["the key in another case", ADMIN_KEY.toUpperCase()],
    ["an empty string", ""],
  ])("refuses %s", async (_, presented) => {
    expect(await adminKeyMatches(presented, ADMIN_KEY)).toBe(false);
  });
});

describe("the admin key as a bearer credential", () => {
  const vars = { AUTH: "required", ADMIN_KEY };

  it("is admin on every topic and on operations that span topics", async () => {
    const topic = `t-${crypto.randomUUID()}`;
    const del = await call(vars, `/v1/topics/${topic}`, { method: "DELETE", token: ADMIN_KEY });
    expect(del.status).toBe(200);
    expect(((await del.json()) as { principal: { kind: string } }).principal.kind).toBe("admin-key");
    expect((await call(vars, "/v1/tokens", { method: "POST", token: ADMIN_KEY })).status).toBe(200);
  });

  it("refuses a wrong key with 401 invalid_token", async () => {
    const res = await call(vars, "/v1/whoami", { token: `${ADMIN_KEY.slice(0, -1)}X` });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    expect((await problemOf(res)).detail).toContain("does not match the admin key");
  });

  it("works alongside JWTs: both the key and a signed token are accepted", async () => {
    const both = { ...vars, JWT_SECRET: SECRET };
    const token = await hs256({ cap: { "*": ["subscribe"] } });
    expect((await call(both, "/v1/whoami", { token: ADMIN_KEY })).status).toBe(200);
    expect((await call(both, "/v1/whoami", { token })).status).toBe(200);
    expect((await call(both, "/v1/whoami", { token: "wrong-key-wrong-key" })).status).toBe(401);
  });

  it("is never accepted as ?token= when it does not match", async () => {
    const res = await call(vars, `/v1/whoami?token=${encodeURIComponent(ADMIN_KEY.slice(1))}`);
    expect(res.status).toBe(401);
  });
});
