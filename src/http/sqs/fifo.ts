import { createHash } from "node:crypto";
import type { QueueSendInput } from "../../protocol/sqs-queue";
import { SqsError } from "./errors";

/** Group and deduplication ids: 1–128 visible ASCII characters, as SQS allows. */
const ID_RE = /^[\x21-\x7E]{1,128}$/;
const FIFO_SUFFIX = ".fifo";
const NOT_FOR_THIS_TYPE = "The request include parameter that is not valid for this queue type.";

/**
 * A queue is FIFO by its name, as in SQS: only a FIFO queue's name ends in `.fifo`, and the topic
 * checks the send against the type it recorded at creation.
 *
 * @example
 * isFifoName("orders.fifo"); // true
 */
export function isFifoName(queue: string): boolean {
  return queue.endsWith(FIFO_SUFFIX);
}

function id(entry: Record<string, unknown>, name: string): string | undefined {
  const value = entry[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !ID_RE.test(value)) {
    throw new SqsError("InvalidParameterValue", `${name} must be 1 to 128 visible ASCII characters`);
  }
  return value;
}

/**
 * The ordering and deduplication fields of one message, checked as SQS does for the queue's type.
 * A FIFO queue's message needs a `MessageGroupId` (its key), takes a `MessageDeduplicationId`
 * (its idempotency key; without one the topic uses the body's SHA-256 if the queue deduplicates
 * by content) and no `DelaySeconds` of its own. A standard queue's may name a group (its key) but
 * not a deduplication id.
 *
 * @throws SqsError `MissingParameter` or `InvalidParameterValue`.
 * @example
 * orderingFields({ MessageGroupId: "cart-1" }, "hello", true);
 * // { key: "cart-1", fifo: { contentHash: "2cf24dba…" } }
 */
export function orderingFields(
  entry: Record<string, unknown>,
  body: string,
  fifo: boolean,
): Pick<QueueSendInput, "key" | "idempotencyKey" | "fifo"> {
  const group = id(entry, "MessageGroupId");
  const deduplication = id(entry, "MessageDeduplicationId");
  if (!fifo) {
    if (deduplication !== undefined) {
      throw new SqsError(
        "InvalidParameterValue",
        `Value ${deduplication} for parameter MessageDeduplicationId is invalid. Reason: ${NOT_FOR_THIS_TYPE}`,
      );
    }
    return group === undefined ? {} : { key: group };
  }
  if (group === undefined) {
    throw new SqsError("MissingParameter", "The request must contain the parameter MessageGroupId.");
  }
  if (entry.DelaySeconds !== undefined && entry.DelaySeconds !== null) {
    throw new SqsError(
      "InvalidParameterValue",
      `Value ${JSON.stringify(entry.DelaySeconds)} for parameter DelaySeconds is invalid. Reason: ${NOT_FOR_THIS_TYPE}`,
    );
  }
  const fields: Pick<QueueSendInput, "key" | "idempotencyKey" | "fifo"> = {
    key: group,
    fifo: { contentHash: createHash("sha256").update(new TextEncoder().encode(body)).digest("hex") },
  };
  if (deduplication !== undefined) fields.idempotencyKey = deduplication;
  return fields;
}

/** What SQS answers a FIFO send without a deduplication id to a queue that does not deduplicate by content. */
export const noDeduplicationId = () =>
  new SqsError(
    "InvalidParameterValue",
    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
  );
