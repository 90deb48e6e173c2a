/**
 * Stable error codes of the broker. Every failure a client can see carries one
 * of these, over HTTP (problem+json) and WebSocket (error frames, close codes).
 */
export const ERROR_CODES = [
  "invalid_request",
  "invalid_name",
  "invalid_push_endpoint",
  "payload_too_large",
  "not_found",
  "gone",
  "unauthorized",
  "forbidden",
  "conflict",
  "topic_full",
  "rate_limited",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status for each code: the one place this mapping lives. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_name: 400,
  invalid_push_endpoint: 400,
  payload_too_large: 413,
  not_found: 404,
  gone: 410,
  unauthorized: 401,
  forbidden: 403,
  conflict: 409,
  topic_full: 507,
  rate_limited: 429,
  internal: 500,
};

/** Short human titles used as problem+json `title`. */
export const TITLES: Record<ErrorCode, string> = {
  invalid_request: "Invalid request",
  invalid_name: "Invalid name",
  invalid_push_endpoint: "Invalid push endpoint",
  payload_too_large: "Payload too large",
  not_found: "Not found",
  gone: "Gone",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  conflict: "Conflict",
  topic_full: "Topic full",
  rate_limited: "Rate limited",
  internal: "Internal error",
};

/** An expected failure, returned (not thrown) across Durable Object RPC. */
export interface Failure {
  ok: false;
  code: ErrorCode;
  detail: string;
}

/** The result of a Durable Object method that can fail in an expected way. */
export type Result<T> = { ok: true; value: T } | Failure;

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (code: ErrorCode, detail: string): Failure => ({ ok: false, code, detail });

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
}

export function problem(code: ErrorCode, detail: string): Problem {
  return {
    type: `https://edge-broker.dev/errors/${code}`,
    title: TITLES[code],
    status: HTTP_STATUS[code],
    detail,
    code,
  };
}
