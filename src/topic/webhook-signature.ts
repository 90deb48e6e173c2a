import { fromBase64, toBase64 } from "../protocol/message";

/** The prefix of a Standard Webhooks secret: `whsec_` then the key's bytes in base64. */
const PREFIX = "whsec_";
const utf8 = new TextEncoder();

/**
 * A new signing secret in the Standard Webhooks format (standardwebhooks.com): `whsec_` and 32
 * random bytes in base64, which the `standardwebhooks` package (and its ports) take as is.
 *
 * @example
 * newSecret(); // "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw…"
 */
export function newSecret(): string {
  return PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** Imported keys by secret: importing costs more than signing. */
const keys = new Map<string, Promise<CryptoKey>>();

function keyOf(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    const bytes = new Uint8Array(fromBase64(secret.slice(PREFIX.length)) ?? []);
    key = crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
    if (keys.size > 1_000) keys.delete(keys.keys().next().value as string);
  }
  return key;
}

/**
 * The `webhook-signature` header for one request: a `v1,<base64 HMAC-SHA256>` entry per secret,
 * space-separated, each over `{id}.{timestamp}.{body}` (the body's bytes as sent). Two secrets
 * sign during a rotation's grace period, so a receiver holding either one verifies.
 *
 * @example
 * await signatureHeader([secret], "msg_1", 1767225600, body); // "v1,K5oZfzN95Z9UVu1E…"
 */
export async function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: Uint8Array,
): Promise<string> {
  const prefix = utf8.encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.byteLength + body.byteLength);
  content.set(prefix);
  content.set(body, prefix.byteLength);
  const signatures = await Promise.all(
    secrets.map(async (secret) => {
      const mac = await crypto.subtle.sign("HMAC", await keyOf(secret), content);
      return `v1,${toBase64(new Uint8Array(mac))}`;
    }),
  );
  return signatures.join(" ");
}
