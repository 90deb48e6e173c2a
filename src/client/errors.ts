import { type ErrorCode, HTTP_STATUS } from "../protocol/errors.js";
import { CLOSE_CODES, isErrorCode, parseCloseReason } from "../protocol/ws-frames.js";

/**
 * What went wrong, as a stable code: one of the broker's codes (`not_found`,
 * `forbidden`, `topic_full`, …), or `network` when no answer came back at all
 * (DNS, refused connection, a socket that dropped).
 */
export type BrokerErrorCode = ErrorCode | "network";

/**
 * Every failure the client reports: an HTTP problem (RFC 9457), an `error` frame, a
 * WebSocket close, or a network failure.
 *
 * @example
 * try {
 *   await broker.publish("orders", { id: 1 });
 * } catch (error) {
 *   if (error instanceof BrokerError && error.code === "topic_full") slowDown();
 *   else throw error;
 * }
 */
export class BrokerError extends Error {
  /** The broker's stable code, or `network`. */
  readonly code: BrokerErrorCode;
  /** The HTTP status, when the error came from an HTTP answer. */
  readonly status: number | undefined;
  /** The broker's sentence about the failure. */
  readonly detail: string;
  /** The WebSocket close code, when the error came from a close. */
  readonly closeCode: number | undefined;
  /** How long the broker asked to wait before retrying (`Retry-After`), ms. */
  readonly retryAfter: number | undefined;

  constructor(
    code: BrokerErrorCode,
    detail: string,
    options: { status?: number; closeCode?: number; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(
      detail === "" ? code : `${code}: ${detail}`,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = "BrokerError";
    this.code = code;
    this.detail = detail;
    this.status = options.status;
    this.closeCode = options.closeCode;
    this.retryAfter = options.retryAfter;
  }

  /** True when the same request may succeed later: network failures, overload, internal errors. */
  get retryable(): boolean {
    return this.code === "network" || this.code === "rate_limited" || this.code === "internal";
  }
}

/**
 * Codes only the broker's own problem document can carry: a proxy's bare 503 or 504 is no verdict
 * on responders or replies, a bare 410 or 422 none on inboxes or schemas.
 */
const SPECIFIC: ReadonlySet<ErrorCode> = new Set([
  "no_responders",
  "reply_timeout",
  "gone",
  "schema_violation",
]);

const CODE_BY_STATUS = new Map<number, ErrorCode>();
for (const [code, status] of Object.entries(HTTP_STATUS) as [ErrorCode, number][]) {
  // Several codes share 400; the first listed (`invalid_request`) is the general one.
  if (!CODE_BY_STATUS.has(status) && !SPECIFIC.has(code)) CODE_BY_STATUS.set(status, code);
}

/** The broker code for an HTTP status when the answer was not a problem document (a proxy's page). */
function codeForStatus(status: number): ErrorCode {
  return CODE_BY_STATUS.get(status) ?? (status === 405 || status < 500 ? "invalid_request" : "internal");
}

/** `Retry-After` as ms: seconds or an HTTP date. */
function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1_000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Reads a failed HTTP answer into a {@link BrokerError}: the problem document's
 * `code` and `detail` when there is one, the status otherwise.
 *
 * @example
 * const response = await fetch(url);
 * if (!response.ok) throw await errorFromResponse(response);
 */
export async function errorFromResponse(response: Response, now = Date.now()): Promise<BrokerError> {
  const status = response.status;
  const options = { status, retryAfter: retryAfterMs(response.headers.get("retry-after"), now) };
  let text = "";
  try {
    text = await response.text();
  } catch {
    // A body that fails to arrive leaves the status to speak.
  }
  if (/json/i.test(response.headers.get("content-type") ?? "")) {
    try {
      const body = JSON.parse(text) as { code?: unknown; detail?: unknown; title?: unknown };
      if (isErrorCode(body.code)) {
        const detail =
          typeof body.detail === "string" ? body.detail : typeof body.title === "string" ? body.title : "";
        return new BrokerError(body.code, detail, options);
      }
    } catch {
      // Not the JSON it claimed to be: fall through to the status.
    }
  }
  const excerpt = text.trim().slice(0, 200);
  const detail = `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ""}${excerpt ? `: ${excerpt}` : ""}`;
  return new BrokerError(codeForStatus(status), detail, options);
}

const CODE_BY_CLOSE: Record<number, ErrorCode> = {
  [CLOSE_CODES.POLICY]: "forbidden",
  [CLOSE_CODES.TOO_BIG]: "payload_too_large",
  [CLOSE_CODES.INTERNAL]: "internal",
  [CLOSE_CODES.TRY_AGAIN_LATER]: "rate_limited",
  [CLOSE_CODES.TOPIC_DELETED]: "not_found",
  [CLOSE_CODES.SUBSCRIPTION_DELETED]: "not_found",
  [CLOSE_CODES.EPOCH_CHANGED]: "conflict",
  [CLOSE_CODES.NOT_FOUND]: "not_found",
  [CLOSE_CODES.INVALID_FRAME]: "invalid_request",
};

/**
 * Reads a WebSocket close into a {@link BrokerError}: the reason's code when the
 * broker wrote one (`unauthorized: the token expired`), the close code otherwise;
 * closes that say nothing (1005, 1006, 1001 …) are `network`.
 *
 * @example
 * socket.addEventListener("close", (event) => console.log(errorFromClose(event.code, event.reason).code));
 */
export function errorFromClose(closeCode: number, reason: string): BrokerError {
  const parsed = parseCloseReason(reason);
  const code = parsed.code ?? CODE_BY_CLOSE[closeCode] ?? "network";
  const detail = parsed.detail || reason || `the connection closed with code ${closeCode}`;
  return new BrokerError(code, detail, { closeCode });
}
