import { isValidName } from "../../protocol/names";
import { SqsError } from "./errors";

/** The account every queue of the broker belongs to, in its URLs and ARNs. */
export const ACCOUNT_ID = "000000000000";
/** The region a queue's ARN names (the broker has none; SQS clients only parse it). */
export const REGION = "edge";
/** Where SQS is mounted: the endpoint a client sets is `{broker}/sqs`. */
export const MOUNT = "/sqs";

/**
 * A queue's URL: same-origin, `{origin}/sqs/000000000000/{name}`.
 *
 * @example
 * queueUrl("http://127.0.0.1:8787", "orders"); // "http://127.0.0.1:8787/sqs/000000000000/orders"
 */
export const queueUrl = (origin: string, name: string): string => `${origin}${MOUNT}/${ACCOUNT_ID}/${name}`;

/** A queue's ARN, as `QueueArn` and a `RedrivePolicy`'s `deadLetterTargetArn` name it. */
export const queueArn = (name: string): string => `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`;

const noQueue = () => new SqsError("QueueDoesNotExist", "The specified queue does not exist.");

/**
 * The queue a `QueueUrl` names: its last path segment, which must be a topic name, after the
 * account. Any host is taken (the URL a client was given may name the broker by another name).
 *
 * @throws SqsError `QueueDoesNotExist` for a URL that names no queue.
 * @example
 * queueFromUrl("http://127.0.0.1:8787/sqs/000000000000/orders"); // "orders"
 */
export function queueFromUrl(url: unknown): string {
  if (typeof url !== "string" || url === "")
    throw new SqsError("MissingParameter", "The request must contain the parameter QueueUrl.");
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    throw noQueue();
  }
  const match = /\/(\d{12})\/([^/]+)\/?$/.exec(path);
  const name = match?.[2] === undefined ? "" : safeDecode(match[2]);
  if (!isValidName(name)) throw noQueue();
  return name;
}

/**
 * The queue an ARN names (`arn:aws:sqs:{region}:{account}:{name}`), or `null`.
 *
 * @example
 * queueFromArn("arn:aws:sqs:edge:000000000000:orders-dlq"); // "orders-dlq"
 */
export function queueFromArn(arn: string): string | null {
  const match = /^arn:[^:]+:sqs:[^:]*:[^:]*:([^:]+)$/.exec(arn);
  const name = match?.[1];
  return name !== undefined && isValidName(name) ? name : null;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return "";
  }
}
