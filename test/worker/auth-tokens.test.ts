import type { JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { AuthVars } from "../../src/auth/config";
import {
  call,
  flipSignatureBit,
  hs256,
  hs256WithHeader,
  hs256WithPublicKey,
  jwks,
  type KeyPair,
  keyPair,
  nowS,
  problemOf,
  SECRET,
  signWith,
  swapPayload,
  unsigned,
} from "./auth-fixtures";

const topic = () => `t-${crypto.randomUUID()}`;
const publishOn = (name: string): JWTPayload => ({ cap: { [name]: ["publish"] } });

let es: KeyPair;
let rs: KeyPair;
let stranger: KeyPair;

beforeAll(async () => {
  [es, rs, stranger] = await Promise.all([
    keyPair("ES256", "es-1"),
    keyPair("RS256", "rs-1"),
    keyPair("ES256", "es-1"), // same kid, different key: a forger's key
  ]);
});

const secretOnly = (): AuthVars => ({ AUTH: "required", JWT_SECRET: SECRET });
const publicOnly = (): AuthVars => ({ AUTH: "required", JWT_PUBLIC_KEYS: jwks(es.publicJwk, rs.publicJwk) });
const both = (): AuthVars => ({ ...secretOnly(), ...publicOnly() });

describe("tokens that are accepted", () => {
  it("accepts an HS256 token signed with JWT_SECRET and exposes its grants and expiry", async () => {
    const name = topic();
    const exp = nowS() + 600;
    const res = await call(secretOnly(), `/v1/topics/${name}/messages`, {
      method: "POST",
      token: await hs256({ ...publishOn(name), exp, sub: "svc" }),
    });
    expect(res.status).toBe(200);
    const { principal } = (await res.json()) as { principal: Record<string, unknown> };
    expect(principal).toEqual({
      kind: "token",
      subject: "svc",
      grants: [{ pattern: name, rights: ["publish"] }],
      expiresAt: exp * 1000,
    });
  });

  it("accepts ES256 and RS256 tokens signed with keys of JWT_PUBLIC_KEYS", async () => {
    const name = topic();
    for (const [pair, alg] of [
      [es, "ES256"],
      [rs, "RS256"],
    ] as const) {
      const token = await signWith(pair, alg, publishOn(name));
      const res = await call(publicOnly(), `/v1/topics/${name}/messages`, { method: "POST", token });
      expect(res.status, alg).toBe(200);
    }
  });

  it("accepts a token that expired within the 30 s clock tolerance", async () => {
    const name = topic();
    const token = await hs256({ ...publishOn(name), exp: nowS() - 10 });
    const res = await call(secretOnly(), `/v1/topics/${name}/messages`, { method: "POST", token });
    expect(res.status).toBe(200);
  });

  it("accepts a token with the configured issuer and audience", async () => {
    const name = topic();
    const vars = { ...secretOnly(), JWT_ISSUER: "https://issuer.example", JWT_AUDIENCE: "edge-broker" };
    const token = await hs256({ ...publishOn(name), iss: "https://issuer.example", aud: "edge-broker" });
    const res = await call(vars, `/v1/topics/${name}/messages`, { method: "POST", token });
    expect(res.status).toBe(200);
  });
});

interface HostileCase {
  name: string;
  vars: () => AuthVars;
  token: (name: string) => Promise<string> | string;
  /** A fragment of the problem's detail, so each case proves it was refused for its reason. */
  detail: string;
}

const hostile: HostileCase[] = [
  {
    name: "a token that is not a JWT",
    vars: secretOnly,
    token: () => "not-a-token",
    detail: "neither the admin key nor a JWT",
  },
  {
    name: "a JWT whose parts are not base64url JSON",
    vars: secretOnly,
    token: () => "abc.def.ghi",
    detail: "malformed",
  },
  {
    name: "an expired token",
    vars: secretOnly,
    token: (n) => hs256({ ...publishOn(n), exp: nowS() - 120 }),
    detail: "has expired",
  },
  {
    name: "a token without exp",
    vars: secretOnly,
    token: (n) => hs256({ ...publishOn(n), exp: undefined }),
    detail: 'no "exp" claim',
  },
  {
    name: "a token that is not valid yet",
    vars: secretOnly,
    token: (n) => hs256({ ...publishOn(n), nbf: nowS() + 120 }),
    detail: "not valid yet",
  },
  {
    name: "a token from another issuer",
    vars: () => ({ ...secretOnly(), JWT_ISSUER: "https://issuer.example" }),
    token: (n) => hs256({ ...publishOn(n), iss: "https://evil.example" }),
    detail: "issuer",
  },
  {
    name: "a token without the configured issuer",
    vars: () => ({ ...secretOnly(), JWT_ISSUER: "https://issuer.example" }),
    token: (n) => hs256(publishOn(n)),
    detail: 'no "iss" claim',
  },
  {
    name: "a token for another audience",
    vars: () => ({ ...secretOnly(), JWT_AUDIENCE: "edge-broker" }),
    token: (n) => hs256({ ...publishOn(n), aud: "another-service" }),
    detail: "audience",
  },
  {
    name: "an unsigned token (alg none)",
    vars: secretOnly,
    token: (n) => unsigned(publishOn(n)),
    detail: "algorithm",
  },
  {
    name: "an unsigned token (alg none) against public keys",
    vars: publicOnly,
    token: (n) => unsigned(publishOn(n)),
    detail: "algorithm",
  },
  {
    name: "an HS256 token signed with the ES256 public key, when only public keys are configured",
    vars: publicOnly,
    token: (n) => hs256WithPublicKey(es.publicJwk, publishOn(n)),
    detail: "algorithm is not accepted",
  },
  {
    name: "an HS256 token signed with the ES256 public key, when a secret is configured too",
    vars: both,
    token: (n) => hs256WithPublicKey(es.publicJwk, publishOn(n)),
    detail: "signature is invalid",
  },
  {
    name: "an HS256 token signed with another secret",
    vars: secretOnly,
    token: (n) => hs256(publishOn(n), "another-secret-another-secret-012"),
    detail: "signature is invalid",
  },
  {
    name: "an HS256 token with one signature bit flipped",
    vars: secretOnly,
    token: async (n) => flipSignatureBit(await hs256(publishOn(n))),
    detail: "signature is invalid",
  },
  {
    name: "an ES256 token with one signature bit flipped",
    vars: publicOnly,
    token: async (n) => flipSignatureBit(await signWith(es, "ES256", publishOn(n))),
    detail: "signature is invalid",
  },
  {
    name: "a signed token whose payload was swapped for an admin grant",
    vars: secretOnly,
    token: async (n) =>
      swapPayload(await hs256(publishOn(n)), { cap: { "*": ["admin"] }, exp: nowS() + 3600 }),
    detail: "signature is invalid",
  },
  {
    name: "an ES256 token signed by a forger's key under a known kid",
    vars: publicOnly,
    token: (n) => signWith(stranger, "ES256", publishOn(n)),
    detail: "signature is invalid",
  },
  {
    name: "an ES256 token naming an unknown kid",
    vars: publicOnly,
    token: (n) => signWith(es, "ES256", publishOn(n), "no-such-kid"),
    detail: "no configured public key matches",
  },
  {
    name: "an RS256 token when only ES256 keys are configured",
    vars: () => ({ AUTH: "required", JWT_PUBLIC_KEYS: jwks(es.publicJwk) }),
    token: (n) => signWith(rs, "RS256", publishOn(n)),
    detail: "accepts ES256",
  },
  {
    name: "an HS256 token when only public keys are configured",
    vars: publicOnly,
    token: (n) => hs256(publishOn(n)),
    detail: "accepts ES256, RS256",
  },
  {
    name: "an ES256 token when only a secret is configured",
    vars: secretOnly,
    token: (n) => signWith(es, "ES256", publishOn(n)),
    detail: "accepts HS256",
  },
  {
    name: "a token with an unknown critical header",
    vars: secretOnly,
    token: (n) => hs256WithHeader({ alg: "HS256", crit: ["x-unknown"], "x-unknown": 1 }, publishOn(n)),
    detail: "does not support (crit)",
  },
  {
    name: "a token without a cap claim",
    vars: secretOnly,
    token: () => hs256({ sub: "x" }),
    detail: 'no "cap" claim',
  },
  {
    name: "a cap that is not an object",
    vars: secretOnly,
    token: () => hs256({ cap: ["publish"] }),
    detail: "cap",
  },
  {
    name: "a cap with a star inside a pattern",
    vars: secretOnly,
    token: () => hs256({ cap: { "a*b": ["publish"] } }),
    detail: 'cap["a*b"] must be a topic name or a prefix ending in `*`',
  },
  {
    name: "a cap with an unknown right",
    vars: secretOnly,
    token: (n) => hs256({ cap: { [n]: ["delete"] } }),
    detail: "cap[",
  },
  {
    name: "a cap with an empty rights list",
    vars: secretOnly,
    token: (n) => hs256({ cap: { [n]: [] } }),
    detail: "at least one right",
  },
  {
    name: "a cap whose pattern tries to reach the prototype",
    vars: secretOnly,
    // JSON.parse makes `__proto__` an own key, as jose's payload decoding does.
    token: () => hs256({ cap: JSON.parse('{"__proto__":["admin"]}') }),
    detail: 'cap["__proto__"]',
  },
  {
    name: "a sub that is not a string",
    vars: secretOnly,
    token: (n) => hs256({ ...publishOn(n), sub: 42 as unknown as string }),
    detail: '"sub"',
  },
];

describe("hostile tokens are refused with 401 and a reason", () => {
  it.each(hostile)("refuses $name", async ({ vars, token, detail }) => {
    const name = topic();
    const res = await call(vars(), `/v1/topics/${name}/messages`, {
      method: "POST",
      token: await token(name),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="edge-broker"/);
    const body = await problemOf(res);
    expect(body.code).toBe("unauthorized");
    expect(body.detail).toContain(detail);
  });
});

describe("requests without a usable credential", () => {
  it("refuses a request without any credential and says how to send one", async () => {
    const res = await call(secretOnly(), `/v1/topics/${topic()}/messages`, { method: "POST" });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-broker"');
    expect((await problemOf(res)).detail).toContain("Authorization: Bearer <token>");
  });

  it("refuses an Authorization header of another scheme instead of looking elsewhere", async () => {
    const name = topic();
    const token = await hs256(publishOn(name));
    const res = await call(secretOnly(), `/v1/topics/${name}/messages?token=${token}`, {
      method: "POST",
      headers: { Authorization: `Basic ${btoa("a:b")}` },
    });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("Bearer <token>");
  });

  it("refuses a token longer than 8 KiB before verifying it", async () => {
    const res = await call(secretOnly(), `/v1/whoami`, { token: "a".repeat(8 * 1024 + 1) });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("longer than 8192");
  });

  it("answers 403 forbidden to a valid token for another topic", async () => {
    const res = await call(secretOnly(), `/v1/topics/${topic()}/messages`, {
      method: "POST",
      token: await hs256(publishOn(topic())),
    });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe("forbidden");
  });
});

describe("browser token sources", () => {
  it("accepts the token as ?token= (EventSource cannot send headers)", async () => {
    const name = topic();
    const token = await hs256({ cap: { [name]: ["subscribe"] } });
    const res = await call(secretOnly(), `/v1/topics/${name}/messages?token=${token}`);
    expect(res.status).toBe(200);
  });

  it("accepts a bearer subprotocol entry and echoes edge-broker.v1, never the token", async () => {
    const name = topic();
    const token = await hs256({ cap: { [name]: ["subscribe"] } });
    const res = await call(secretOnly(), `/v1/topics/${name}/ws`, {
      headers: { "Sec-WebSocket-Protocol": `edge-broker.v1, bearer.${token}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { subprotocol: string }).subprotocol).toBe("edge-broker.v1");
  });

  it("refuses a forged token in the subprotocol entry", async () => {
    const name = topic();
    const token = flipSignatureBit(await hs256({ cap: { [name]: ["subscribe"] } }));
    const res = await call(secretOnly(), `/v1/topics/${name}/ws`, {
      headers: { "Sec-WebSocket-Protocol": `edge-broker.v1, bearer.${token}` },
    });
    expect(res.status).toBe(401);
  });
});
