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
  "schema_violation",
  "reply_timeout",
  "no_responders",
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
  schema_violation: 422,
  reply_timeout: 504,
  no_responders: 503,
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
  schema_violation: "Schema violation",
  reply_timeout: "Reply timeout",
  no_responders: "No responders",
};

/**
 * One reason a message was refused by its topic's schema: where in the message (a JSON Pointer into
 * its body, `""` for the body itself), why, and which entry of a batch (`index`, from 0).
 */
export interface Violation {
  index?: number;
  path: string;
  reason: string;
}

/** An expected failure, returned (not thrown) across Durable Object RPC. */
export interface Failure {
  ok: false;
  code: ErrorCode;
  detail: string;
  /** `schema_violation` only: every reason, listed in the problem body as `errors`. */
  errors?: Violation[];
}

/** The result of a Durable Object method that can fail in an expected way. */
export type Result<T> = { ok: true; value: T } | Failure;

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (code: ErrorCode, detail: string, errors?: Violation[]): Failure =>
  errors === undefined ? { ok: false, code, detail } : { ok: false, code, detail, errors };

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  /** `schema_violation`: each reason the message (or a batch entry) was refused. */
  errors?: Violation[];
}

export function problem(code: ErrorCode, detail: string, errors?: Violation[]): Problem {
  const body: Problem = {
    type: `https://edge-broker.dev/errors/${code}`,
    title: TITLES[code],
    status: HTTP_STATUS[code],
    detail,
    code,
  };
  if (errors !== undefined) body.errors = errors;
  return body;
}
