import { describe, expect, it } from "vitest";
import { NO_CREDENTIALS_DETAIL, readAuthConfig } from "../../src/auth/config";

const SECRET = "s3cret-s3cret-s3cret-s3cret-0123";
const EC_KEY = { kty: "EC", crv: "P-256", kid: "k1", x: "AAAA", y: "BBBB" };
const RSA_KEY = { kty: "RSA", kid: "r1", n: "AAAA", e: "AQAB" };

describe("readAuthConfig", () => {
  it("requires auth by default and refuses without any credential", () => {
    const config = readAuthConfig({});
    expect(config.mode).toBe("required");
    expect(config.refusal).toBe(NO_CREDENTIALS_DETAIL);
  });

  it("accepts AUTH in any case and with spaces", () => {
    expect(readAuthConfig({ AUTH: " OFF " }).mode).toBe("off");
    expect(readAuthConfig({ AUTH: "Required", ADMIN_KEY: "k".repeat(16) }).refusal).toBeNull();
  });

  it("pins the public-key algorithms to the kinds of keys in the set", () => {
    const ec = readAuthConfig({ JWT_PUBLIC_KEYS: JSON.stringify({ keys: [EC_KEY] }) });
    expect(ec.refusal).toBeNull();
    expect(ec.publicAlgorithms).toEqual(["ES256"]);
    const both = readAuthConfig({
      JWT_PUBLIC_KEYS: JSON.stringify({ keys: [EC_KEY, RSA_KEY, { ...EC_KEY, kid: "k2" }] }),
    });
    expect(both.publicAlgorithms).toEqual(["ES256", "RS256"]);
  });

  it("keeps issuer, audience and the secret's bytes", () => {
    const config = readAuthConfig({
      JWT_SECRET: ` ${SECRET} `,
      JWT_ISSUER: "https://i",
      JWT_AUDIENCE: "aud",
    });
    expect(config.refusal).toBeNull();
    expect(new TextDecoder().decode(config.jwtSecret as Uint8Array)).toBe(SECRET);
    expect(config.issuer).toBe("https://i");
    expect(config.audience).toBe("aud");
  });

  it.each([
    ["a key with an alg that does not fit it", { ...EC_KEY, alg: "RS256" }, "must be ES256"],
    ["a key for encryption", { ...EC_KEY, use: "enc" }, "must be sig"],
    ["a key without coordinates", { kty: "EC", crv: "P-256" }, "keys.0.x"],
    ["an RSA private key", { ...RSA_KEY, d: "AAAA" }, "private key material"],
  ])("refuses JWT_PUBLIC_KEYS holding %s", (_, key, detail) => {
    const config = readAuthConfig({ JWT_PUBLIC_KEYS: JSON.stringify({ keys: [key] }) });
    expect(config.refusal).toContain(detail);
    expect(config.refusal).toContain("JWT_PUBLIC_KEYS");
  });

  it("never quotes JWT_PUBLIC_KEYS back when it is not JSON", () => {
    const config = readAuthConfig({ JWT_PUBLIC_KEYS: "{ not json: sensitive-looking-text" });
    expect(config.refusal).toContain("not valid JSON");
    expect(config.refusal).not.toContain("sensitive-looking-text");
  });

  it("never quotes a secret in a refusal", () => {
    const config = readAuthConfig({ ADMIN_KEY: "short-key", JWT_SECRET: "tiny" });
    expect(config.refusal).not.toContain("short-key");
    expect(config.refusal).not.toContain("tiny");
  });

  it("returns the same object for the same values, so keys are imported once per isolate", () => {
    const vars = { AUTH: "required", JWT_SECRET: SECRET };
    expect(readAuthConfig({ ...vars })).toBe(readAuthConfig({ ...vars }));
    expect(readAuthConfig({ ...vars, JWT_ISSUER: "x" })).not.toBe(readAuthConfig({ ...vars }));
  });
});
