import type { MiddlewareHandler } from "hono";
import { type LogLevel, logLine } from "../../protocol/log";

/** What {@link requestLog} puts on the context. */
export interface RequestLogVariables {
  /**
   * This request's id: in its log line, its `Request-Id` header and any problem it answers.
   * (Optional in the type only, so that middleware typed without it still mounts beside it.)
   */
  requestId?: string;
}

/** A `cf-ray` worth reusing: Cloudflare's is 16 hex digits, a dash and a data centre. */
const RAY_RE = /^[A-Za-z0-9-]{1,64}$/;

/** The header that names a request's id in every answer (and that `Access-Control-Expose-Headers` lists). */
export const REQUEST_ID_HEADER = "Request-Id";

/**
 * The request's id: Cloudflare's `cf-ray` (which its own logs and support know), or a random one
 * where there is none (`wrangler dev`, tests). A `cf-ray` of another shape is not trusted into a
 * log line.
 */
function requestIdOf(request: Request): string {
  const ray = request.headers.get("cf-ray");
  return ray !== null && RAY_RE.test(ray) ? ray : crypto.randomUUID();
}

/**
 * A request's level: `error` only for a failure of the broker (500); the other 5xx are answers
 * the API promises (`503 no_responders`, `504 reply_timeout`, `507 topic_full`), worth a look.
 */
const levelOf = (status: number): LogLevel => (status === 500 ? "error" : status > 500 ? "warn" : "info");

/** The topic a path names, for the log line: `/v1/topics/{topic}/…` and `/ds/v1/stream/{name}`. */
function topicOf(path: string): string | undefined {
  const match = /^\/(?:v1\/topics|ds\/v1\/stream)\/([^/]+)/.exec(path);
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/**
 * The problem body with the request's id added, so a client that reports a failure names the
 * log line that explains it.
 */
async function withRequestId(res: Response, requestId: string): Promise<{ res: Response; code?: string }> {
  let body: Record<string, unknown>;
  try {
    body = (await res.clone().json()) as Record<string, unknown>;
  } catch {
    return { res };
  }
  const code = typeof body.code === "string" ? body.code : undefined;
  const rewritten = new Response(JSON.stringify({ ...body, requestId }), {
    status: res.status,
    headers: res.headers,
  });
  return code === undefined ? { res: rewritten } : { res: rewritten, code };
}

/**
 * Gives each request an id and writes one JSON log line for it when it is answered: method, path
 * (never the query string, where a browser's token travels), status, duration, request id, and
 * the topic it names. The id is answered as `Request-Id` and, in a problem+json answer, as
 * `requestId`. A WebSocket upgrade's line is written when the socket is handed over (101).
 *
 * @example
 * app.use("*", requestLog());
 */
export function requestLog(): MiddlewareHandler<{ Variables: RequestLogVariables }> {
  return async function requestLog(c, next) {
    const started = Date.now();
    const requestId = requestIdOf(c.req.raw);
    c.set("requestId", requestId);
    await next();
    let code: string | undefined;
    // A 101's headers belong to the socket the runtime hands over: left as they are.
    if (c.res.status !== 101) {
      if (c.res.headers.get("content-type")?.startsWith("application/problem+json")) {
        const rewritten = await withRequestId(c.res, requestId);
        code = rewritten.code;
        c.res = rewritten.res;
      }
      c.header(REQUEST_ID_HEADER, requestId);
    }
    const path = new URL(c.req.url).pathname;
    logLine(levelOf(c.res.status), "request", {
      requestId,
      method: c.req.method,
      path,
      status: c.res.status,
      ms: Date.now() - started,
      topic: topicOf(path),
      code,
    });
  };
}
