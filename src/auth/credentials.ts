import { BEARER_PROTOCOL_PREFIX, echoSubprotocol, SUBPROTOCOL, subprotocols } from "../protocol/ws-handshake";

export { BEARER_PROTOCOL_PREFIX, echoSubprotocol, SUBPROTOCOL };

/**
 * Longest credential accepted. Real tokens are a few hundred bytes; the bound keeps a
 * hostile header from costing a large decode and signature check.
 */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** Where a credential came from, so logs and errors can say so without showing it. */
export type TokenSource = "authorization" | "subprotocol" | "query";

export type FoundToken = { ok: true; token: string; source: TokenSource } | { ok: false; detail: string };

/**
 * Finds the credential of a request: `Authorization: Bearer …` first, then a
 * `bearer.<token>` entry in `Sec-WebSocket-Protocol` (browsers cannot set headers on a
 * WebSocket), then `?token=` (nor on an EventSource). Returns `null` when there is none,
 * and a failure when one is present but unusable, so a malformed header is never
 * silently skipped in favour of another source.
 *
 * @example
 * findToken(new Request("http://b/v1/topics/t/ws?token=abc")); // { ok: true, token: "abc", source: "query" }
 */
export function findToken(request: Request): FoundToken | null {
  const authorization = request.headers.get("Authorization");
  if (authorization !== null) {
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match?.[1]) return { ok: false, detail: "the Authorization header must be `Bearer <token>`" };
    return bounded(match[1], "authorization");
  }
  const protocols = request.headers.get("Sec-WebSocket-Protocol");
  if (protocols !== null) {
    const bearer = subprotocols(protocols).filter((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
    if (bearer.length > 1)
      return { ok: false, detail: "Sec-WebSocket-Protocol carries more than one bearer entry" };
    const entry = bearer[0];
    if (entry !== undefined) return bounded(entry.slice(BEARER_PROTOCOL_PREFIX.length), "subprotocol");
  }
  const query = new URL(request.url).searchParams.getAll("token");
  if (query.length > 1) return { ok: false, detail: "the query string carries more than one token" };
  if (query[0] !== undefined) return bounded(query[0], "query");
  return null;
}

function bounded(token: string, source: TokenSource): FoundToken {
  if (token === "") return { ok: false, detail: `the ${describe(source)} is empty` };
  if (token.length > MAX_TOKEN_LENGTH) {
    return { ok: false, detail: `the ${describe(source)} is longer than ${MAX_TOKEN_LENGTH} characters` };
  }
  return { ok: true, token, source };
}

const describe = (source: TokenSource): string =>
  source === "authorization"
    ? "bearer token"
    : source === "subprotocol"
      ? "bearer entry of Sec-WebSocket-Protocol"
      : "token query parameter";

// Matches the value of a `token` or `access_token` query parameter, wherever it sits.
const TOKEN_PARAM_RE = /([?&](?:access_)?token=)[^&#]*/gi;

/**
 * Replaces the value of every `token=` (and `access_token=`) query parameter with
 * `[redacted]`, leaving the rest of the URL byte for byte. Works on absolute URLs, paths
 * and anything else, because a log line must never fail for want of a parsable URL.
 *
 * @example
 * redactUrl("https://b/v1/topics/t/ws?after=4&token=eyJhbGci…"); // "https://b/v1/topics/t/ws?after=4&token=[redacted]"
 */
export function redactUrl(url: string): string {
  return url.replace(TOKEN_PARAM_RE, "$1[redacted]");
}

/**
 * A copy of the request without its credentials (Authorization, the `bearer.` entry of
 * `Sec-WebSocket-Protocol`, `?token=`), for forwarding an authenticated upgrade to a
 * Durable Object: the token has done its work and should not travel further.
 *
 * @example
 * const forwarded = withoutCredentials(c.req.raw);
 * return env.TOPIC.getByName(topic).fetch(forwarded);
 */
export function withoutCredentials(request: Request): Request {
  const url = new URL(request.url);
  url.searchParams.delete("token");
  const headers = new Headers(request.headers);
  headers.delete("Authorization");
  const protocols = headers.get("Sec-WebSocket-Protocol");
  if (protocols !== null) {
    const kept = subprotocols(protocols).filter((p) => !p.startsWith(BEARER_PROTOCOL_PREFIX));
    if (kept.length > 0) headers.set("Sec-WebSocket-Protocol", kept.join(", "));
    else headers.delete("Sec-WebSocket-Protocol");
  }
  return new Request(url, { method: request.method, headers, body: request.body });
}
