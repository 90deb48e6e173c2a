import type { Context, ErrorHandler, Handler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type ErrorCode, HTTP_STATUS, type Result, type Violation } from "../protocol/errors";
import { logLine } from "../protocol/log";
import { problemResponse } from "../protocol/problem";
import type { BrokerEnv } from "./env";

/**
 * The one error type of the HTTP layer: a stable `code` and a sentence for the client, rendered as
 * `application/problem+json` (RFC 9457). It is an `HTTPException`, so Hono renders it correctly
 * even where our `onError` does not run.
 *
 * @example
 * throw new ProblemError("invalid_name", '"a b" is not a valid topic name');
 * throw new ProblemError("invalid_request", "POST is not allowed here", { status: 405, headers: { Allow: "GET" } });
 */
export class ProblemError extends HTTPException {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly headers: Record<string, string>;
  readonly errors: Violation[] | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    options: { status?: number; headers?: Record<string, string>; errors?: Violation[] } = {},
  ) {
    super((options.status ?? HTTP_STATUS[code]) as ContentfulStatusCode, { message: detail });
    this.name = "ProblemError";
    this.code = code;
    this.detail = detail;
    this.headers = options.headers ?? {};
    this.errors = options.errors;
  }

  override getResponse(): Response {
    const options: Parameters<typeof problemResponse>[2] = { status: this.status, headers: this.headers };
    if (this.errors !== undefined) options.errors = this.errors;
    return problemResponse(this.code, this.detail, options);
  }
}

/**
 * The value of a Durable Object `Result`, or a `ProblemError` carrying its failure.
 *
 * @example
 * const info = unwrap(await topicStub.info()); // throws not_found → 404 when absent
 */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  // A topic that sheds load says so; a second later is a fair guess at when it can take more.
  const headers: Record<string, string> = result.code === "rate_limited" ? { "Retry-After": "1" } : {};
  throw new ProblemError(result.code, result.detail, {
    headers,
    ...(result.errors === undefined ? {} : { errors: result.errors }),
  });
}

/** Plain `HTTPException`s (thrown by Hono itself) keep their status; this names it with a code. */
function codeForStatus(status: number): ErrorCode {
  const entry = Object.entries(HTTP_STATUS).find(([, s]) => s === status);
  return entry ? (entry[0] as ErrorCode) : status < 500 ? "invalid_request" : "internal";
}

/**
 * A Durable Object that sheds load rejects calls with `overloaded` set; retrying at once makes it
 * worse, so the client is told to back off.
 * https://developers.cloudflare.com/durable-objects/best-practices/error-handling/
 */
function isOverloaded(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { overloaded?: unknown }).overloaded === true;
}

/** The app's `onError`: every failure leaves as problem+json, and internals never leak. */
export const handleError: ErrorHandler = function handleError(err: Error, c: Context): Response {
  if (err instanceof ProblemError) return err.getResponse();
  if (err instanceof HTTPException)
    return problemResponse(codeForStatus(err.status), err.message, { status: err.status });
  if (isOverloaded(err)) {
    return problemResponse("rate_limited", "the topic is overloaded; retry after a short delay", {
      headers: { "Retry-After": "1" },
    });
  }
  const requestId = (c as Context<BrokerEnv>).get("requestId");
  logLine(
    "error",
    "request failed",
    { requestId, method: c.req.method, path: new URL(c.req.url).pathname },
    err,
  );
  return problemResponse("internal", "the broker failed to handle the request");
};

/** The app's `notFound`: a path that no route matches. */
export const handleNotFound: NotFoundHandler = function handleNotFound(c: Context): Response {
  return problemResponse("not_found", `no route matches ${c.req.method} ${new URL(c.req.url).pathname}`);
};

/**
 * The handler registered after a path's real methods: any other method gets 405 with `Allow`.
 *
 * @example
 * topics.all("/:topic", methodNotAllowed("GET", "PUT", "DELETE"));
 */
export function methodNotAllowed(...allowed: string[]): Handler {
  const allow = allowed.includes("GET") ? [...allowed, "HEAD"] : allowed;
  return function methodNotAllowedHandler(c: Context): Response {
    throw new ProblemError(
      "invalid_request",
      `${c.req.method} is not allowed here; use ${allow.join(", ")}`,
      {
        status: 405,
        headers: { Allow: allow.join(", ") },
      },
    );
  };
}
