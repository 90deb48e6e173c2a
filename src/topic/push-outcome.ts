/** The longest pause a receiver's `Retry-After` can ask for, ms: past it the backoff takes over. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** What one push attempt came to. */
export type PushOutcome =
  | { ok: true; status: number }
  | {
      ok: false;
      /** The status the receiver answered with; `null` when none came (timeout, network). */
      status: number | null;
      error: string;
      /** How long the receiver asked to be left alone (429 or 503 with `Retry-After`), ms. */
      retryAfter?: number;
      /** `410 Gone`: the receiver is gone for good, and the subscription is paused. */
      gone?: boolean;
    };

/**
 * `Retry-After` as a pause from `now`, ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3),
 * at most {@link MAX_RETRY_AFTER_MS}; `undefined` when absent or unreadable.
 *
 * @example
 * retryAfterMs("120", Date.now()); // 120000
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * An answer as a push outcome: 2xx acks; a redirect is a failure (redirects are never followed:
 * they could lead anywhere); 429 and 503 carry their `Retry-After`; 410 pauses the subscription.
 */
export function outcomeOf(response: Response, now: number): PushOutcome {
  const status = response.status;
  if (status >= 200 && status < 300) return { ok: true, status };
  if (status >= 300 && status < 400) {
    return { ok: false, status, error: `redirect ${status} not followed` };
  }
  const outcome: PushOutcome = { ok: false, status, error: `HTTP ${status}` };
  if (status === 429 || status === 503) {
    const retryAfter = retryAfterMs(response.headers.get("retry-after"), now);
    if (retryAfter !== undefined) outcome.retryAfter = retryAfter;
  }
  if (status === 410) outcome.gone = true;
  return outcome;
}
