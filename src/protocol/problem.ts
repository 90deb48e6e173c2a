import { type ErrorCode, HTTP_STATUS, problem, type Violation } from "./errors";

/**
 * The one way the broker answers a failed HTTP request: an `application/problem+json` body
 * (RFC 9457) with a stable `code`. `status` overrides the code's usual status (405 is
 * `invalid_request`). A problem describes one request, so no cache may keep it.
 *
 * @example
 * return problemResponse("not_found", "topic orders does not exist");
 * return problemResponse("unauthorized", "the token expired", { headers: { "WWW-Authenticate": "Bearer" } });
 */
export function problemResponse(
  code: ErrorCode,
  detail: string,
  options: { status?: number; headers?: Record<string, string>; errors?: Violation[] } = {},
): Response {
  const status = options.status ?? HTTP_STATUS[code];
  return new Response(JSON.stringify({ ...problem(code, detail, options.errors), status }), {
    status,
    headers: {
      ...options.headers,
      "Content-Type": "application/problem+json",
      "Cache-Control": "no-store",
    },
  });
}
