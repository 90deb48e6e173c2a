import type { QueueReceipt } from "../../protocol/sqs-queue";
import { SqsError } from "./errors";

const VERSION = "1";

/**
 * A receipt handle: the topic's epoch, the message's seq and the delivery it came with, so that
 * a handle of an earlier receive of the message (or of a queue deleted and made again) is told
 * apart from the current one. It holds nothing secret: settling still needs `subscribe` on the
 * queue, as an ack by seq does.
 *
 * @example
 * const handle = receiptHandle("9f2c…", 42, 1);
 * readReceipt(handle); // { epoch: "9f2c…", seq: 42, attempt: 1 }
 */
export function receiptHandle(epoch: string, seq: number, attempt: number): string {
  return btoa(`${VERSION}:${epoch}:${seq}:${attempt}`).replaceAll("=", "");
}

/**
 * The delivery a receipt handle names.
 *
 * @throws SqsError `ReceiptHandleIsInvalid` for anything that is not a handle the broker made.
 */
export function readReceipt(handle: unknown): QueueReceipt & { epoch: string } {
  if (typeof handle !== "string" || handle === "") {
    throw new SqsError("MissingParameter", "The request must contain the parameter ReceiptHandle.");
  }
  let text = "";
  try {
    text = handle.length <= 1024 ? atob(handle) : "";
  } catch {
    // not base64: refused below
  }
  const match = /^1:([^:]{1,64}):([1-9]\d{0,15}):([1-9]\d{0,9})$/.exec(text);
  const seq = Number(match?.[2]);
  const attempt = Number(match?.[3]);
  if (!match?.[1] || !Number.isSafeInteger(seq) || !Number.isSafeInteger(attempt)) {
    throw new SqsError(
      "ReceiptHandleIsInvalid",
      `The input receipt handle "${handle.slice(0, 64)}" is not a valid receipt handle.`,
    );
  }
  return { epoch: match[1], seq, attempt };
}
