import { type Context, Hono } from "hono";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { expect } from "vitest";
import type { AuthVars } from "../../src/auth/config";
import { type AuthEnv, auth, requireRight } from "../../src/auth/middleware";
import { echoSubprotocol } from "../../src/protocol/ws-handshake";

/** A JWT_SECRET long enough to be accepted (32 bytes). */
export const SECRET = "s3cret-s3cret-s3cret-s3cret-0123";
export const ADMIN_KEY = "admin-key-0123456789abcdef";

/** A small app that mounts the real middleware the way the broker does. */
export function authApp(): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.get("/healthz", (c) => c.text("ok"));
  app.use("/v1/*", auth());
  const echo = (c: Context<AuthEnv>) =>
    c.json({ principal: c.get("principal"), subprotocol: echoSubprotocol(c.req.raw) });
  app.get("/v1/whoami", echo);
  app.post("/v1/topics/:topic/messages", requireRight("publish"), echo);
  app.get("/v1/topics/:topic/messages", requireRight("subscribe"), echo);
  app.get("/v1/topics/:topic/ws", requireRight("subscribe"), echo);
  app.delete("/v1/topics/:topic", requireRight("admin"), echo);
  app.post("/v1/tokens", requireRight("admin"), echo);
  return app;
}

/** The env the middleware reads: only the auth vars matter to it. */
export const envOf = (vars: AuthVars): Env => ({ ...vars }) as unknown as Env;

export async function call(
  vars: AuthVars,
  path: string,
  init: RequestInit & { token?: string } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set("Authorization", `Bearer ${init.token}`);
  return authApp().request(`http://broker${path}`, { ...init, headers }, envOf(vars));
}

export const nowS = (): number => Math.floor(Date.now() / 1000);

/** An HS256 token over `claims`, expiring in an hour unless `claims.exp` says otherwise. */
export async function hs256(claims: JWTPayload, secret: string | Uint8Array = SECRET): Promise<string> {
  const key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  return new SignJWT({ exp: nowS() + 3600, ...claims }).setProtectedHeader({ alg: "HS256" }).sign(key);
}

export interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** A fresh key pair whose public half is ready to put in JWT_PUBLIC_KEYS. */
export async function keyPair(alg: "ES256" | "RS256", kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey: privateKey as CryptoKey, publicJwk: { ...(await exportJWK(publicKey)), kid } };
}

export async function signWith(pair: KeyPair, alg: "ES256" | "RS256", claims: JWTPayload, kid?: string) {
  return new SignJWT({ exp: nowS() + 3600, ...claims })
    .setProtectedHeader({ alg, kid: kid ?? (pair.publicJwk.kid as string) })
    .sign(pair.privateKey);
}

export const jwks = (...keys: JWK[]): string => JSON.stringify({ keys });

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

export const b64urlJson = (value: unknown): string => b64url(new TextEncoder().encode(JSON.stringify(value)));

/** An unsigned token (`alg: none`), as an attacker would write it. */
export const unsigned = (claims: JWTPayload): string =>
  `${b64urlJson({ alg: "none", typ: "JWT" })}.${b64urlJson({ exp: nowS() + 3600, ...claims })}.`;

/**
 * An HS256 token whose HMAC key is the text of a public key: the algorithm-confusion attack
 * against verifiers that hand whatever key they hold to whatever `alg` the token names.
 */
export async function hs256WithPublicKey(publicJwk: JWK, claims: JWTPayload): Promise<string> {
  return new SignJWT({ exp: nowS() + 3600, ...claims })
    .setProtectedHeader({ alg: "HS256", kid: publicJwk.kid as string })
    .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
}

/** The token with one bit of its signature flipped. */
export function flipSignatureBit(token: string): string {
  const [header, payload, signature = ""] = token.split(".");
  const bytes = Uint8Array.from(atob(signature.replaceAll("-", "+").replaceAll("_", "/")), (ch) =>
    ch.charCodeAt(0),
  );
  bytes[0] = (bytes[0] as number) ^ 1;
  return `${header}.${payload}.${b64url(bytes)}`;
}

/** The token with its payload swapped for another, keeping the original signature. */
export function swapPayload(token: string, claims: JWTPayload): string {
  const [header, , signature] = token.split(".");
  return `${header}.${b64urlJson(claims)}.${signature}`;
}

export async function problemOf(res: Response): Promise<{ code: string; detail: string; status: number }> {
  expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  return res.json();
}

/** An HS256 token with a header of our choosing, signed by hand (jose refuses to write some). */
export async function hs256WithHeader(header: Record<string, unknown>, claims: JWTPayload): Promise<string> {
  const input = `${b64urlJson(header)}.${b64urlJson({ exp: nowS() + 3600, ...claims })}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(signature))}`;
}
