import { ADMIN_PRINCIPAL, OPEN_PRINCIPAL, type Principal } from "../../auth/capabilities";
import { type AuthConfig, MIN_ADMIN_KEY_LENGTH, readAuthConfig } from "../../auth/config";
import { findToken } from "../../auth/credentials";
import { parseSigV4, verifySigV4 } from "../../auth/sigv4";
import { authenticate } from "../../auth/tokens";
import { SqsError } from "./errors";

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const KEY_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * `SQS_ACCESS_KEYS`: `ID:SECRET` pairs, separated by commas or white space. Each is admin on
 * every topic, as the admin key is; a malformed list refuses every signed request rather than
 * half-work.
 */
function accessKeys(text: string | undefined): Map<string, string> | string {
  const keys = new Map<string, string>();
  for (const pair of (text ?? "").split(/[\s,]+/).filter(Boolean)) {
    const at = pair.indexOf(":");
    const id = pair.slice(0, at);
    const secret = pair.slice(at + 1);
    if (at < 1 || !KEY_ID_RE.test(id) || secret.length < MIN_ADMIN_KEY_LENGTH) {
      return `SQS_ACCESS_KEYS must be ID:SECRET pairs (an ID of A–Z a–z 0–9 _ -, a secret of at least ${MIN_ADMIN_KEY_LENGTH} characters)`;
    }
    keys.set(id, secret);
  }
  return keys;
}

/**
 * Who sends an SQS request (DESIGN.md §10). With `AUTH=off` anyone (the signature is not looked
 * at). Otherwise a bearer token or the admin key as for the rest of the API, or a SigV4 signature
 * whose secret the broker knows, picked by the access key id:
 *
 * - an id of `SQS_ACCESS_KEYS`: its secret; admin on every topic;
 * - a JWT the broker accepts as a bearer token: the token itself is the secret; its rights;
 * - any other id: the admin key is the secret; admin on every topic.
 *
 * @throws SqsError `MissingAuthenticationToken`, `InvalidClientTokenId`, `IncompleteSignature`,
 * `SignatureDoesNotMatch` or `RequestExpired`.
 * @example
 * const principal = await sqsPrincipal(c.env, c.req.raw, body);
 */
export async function sqsPrincipal(env: Env, request: Request, body: Uint8Array): Promise<Principal> {
  const config = readAuthConfig(env);
  if (config.refusal !== null) throw new SqsError("InvalidClientTokenId", config.refusal);
  if (config.mode === "off") return OPEN_PRINCIPAL;
  const authorization = request.headers.get("Authorization");
  if (authorization === null || /^Bearer /i.test(authorization)) {
    const found = findToken(request);
    if (found === null) {
      throw new SqsError(
        "MissingAuthenticationToken",
        "Request is missing Authentication Token: sign it (SigV4) or send `Authorization: Bearer <token>`",
      );
    }
    if (!found.ok) throw new SqsError("IncompleteSignature", found.detail);
    return bearer(found.token, config);
  }
  const header = parseSigV4(authorization);
  if (header === null) {
    throw new SqsError(
      "IncompleteSignature",
      "the Authorization header is neither AWS4-HMAC-SHA256 nor Bearer",
    );
  }
  const { secret, principal } = await signer(header.accessKeyId, config, env.SQS_ACCESS_KEYS);
  const verdict = await verifySigV4(request, body, header, secret, Date.now());
  if (!verdict.ok) {
    const type = {
      incomplete: "IncompleteSignature",
      expired: "RequestExpired",
      mismatch: "SignatureDoesNotMatch",
    } as const;
    throw new SqsError(type[verdict.reason], verdict.detail);
  }
  return principal;
}

async function bearer(token: string, config: AuthConfig): Promise<Principal> {
  const result = await authenticate(token, config);
  if (!result.ok) throw new SqsError("InvalidClientTokenId", result.detail);
  return result.principal;
}

/** The secret a signature must have been made with, and whom it makes the sender. */
async function signer(
  accessKeyId: string,
  config: AuthConfig,
  keysText: string | undefined,
): Promise<{ secret: string; principal: Principal }> {
  const keys = accessKeys(keysText);
  if (typeof keys === "string") throw new SqsError("InvalidClientTokenId", keys);
  const secret = keys.get(accessKeyId);
  if (secret !== undefined) return { secret, principal: ADMIN_PRINCIPAL };
  if (JWT_RE.test(accessKeyId)) return { secret: accessKeyId, principal: await bearer(accessKeyId, config) };
  if (config.adminKey !== null) return { secret: config.adminKey, principal: ADMIN_PRINCIPAL };
  throw new SqsError("InvalidClientTokenId", "The security token included in the request is invalid.");
}
