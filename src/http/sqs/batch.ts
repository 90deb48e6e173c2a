import { rateLimitKey } from "../middleware/rate-limit";
import type { SqsCall } from "./call";
import { SqsError } from "./errors";

const ENTRY_ID_RE = /^[A-Za-z0-9_-]{1,80}$/;
/** Most entries in one batch request, as SQS allows. */
const MAX_ENTRIES = 10;

/**
 * The `Entries` of a batch request, checked whole as SQS does: 1–10 entries, each an object with
 * a distinct `Id` of 1–80 characters of `A–Z a–z 0–9 _ -`.
 *
 * @throws SqsError `EmptyBatchRequest`, `TooManyEntriesInBatchRequest`, `InvalidBatchEntryId`,
 * `BatchEntryIdsNotDistinct`.
 * @example
 * const entries = batchEntries(call.input.Entries);
 */
export function batchEntries(value: unknown): Record<string, unknown>[] {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    throw new SqsError("EmptyBatchRequest", "There should be at least one entry in the request.");
  }
  if (!Array.isArray(value)) throw new SqsError("InvalidParameterValue", "Entries must be a list");
  if (value.length > MAX_ENTRIES) {
    throw new SqsError(
      "TooManyEntriesInBatchRequest",
      `Maximum number of entries per request are ${MAX_ENTRIES}. You have sent ${value.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const entry of value) {
    const id =
      typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>).Id : undefined;
    if (typeof id !== "string" || !ENTRY_ID_RE.test(id)) {
      throw new SqsError(
        "InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
      );
    }
    if (seen.has(id)) throw new SqsError("BatchEntryIdsNotDistinct", `Id ${id} repeated.`);
    seen.add(id);
  }
  return value as Record<string, unknown>[];
}

/**
 * Sends count against the publish budget of the caller, as publishes over HTTP do (DESIGN.md §6):
 * `RequestThrottled` when it is spent, which the SDK retries after a backoff.
 */
export async function throttle(call: SqsCall): Promise<void> {
  const limiter = (call.env as Partial<Pick<Env, "PUBLISH_RATE_LIMIT">>).PUBLISH_RATE_LIMIT;
  if (limiter === undefined) return;
  const key = await rateLimitKey(call.principal, call.request);
  if (key === null) return;
  let allowed = true;
  try {
    ({ success: allowed } = await limiter.limit({ key }));
  } catch (error) {
    // An outage of the counter must not become an outage of the broker.
    console.error("PUBLISH_RATE_LIMIT.limit() failed; letting the request through:", error);
  }
  if (!allowed)
    throw new SqsError(
      "RequestThrottled",
      "too many sends from this client (PUBLISH_RATE_LIMIT); retry later",
    );
}
