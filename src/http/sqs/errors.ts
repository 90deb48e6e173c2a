import type { ErrorCode, Result } from "../../protocol/errors";

/**
 * The errors the SQS layer answers with, as SQS names them: the HTTP status and the code of the
 * `x-amzn-query-error` header (`AWS.SimpleQueueService.NonExistentQueue` for `QueueDoesNotExist`).
 * The SDK picks its exception class by that code, so each must be SQS's own.
 */
const SQS_ERRORS = {
  QueueDoesNotExist: [400, "AWS.SimpleQueueService.NonExistentQueue"],
  QueueNameExists: [400, "QueueAlreadyExists"],
  InvalidAttributeName: [400, "InvalidAttributeName"],
  InvalidAttributeValue: [400, "InvalidAttributeValue"],
  InvalidMessageContents: [400, "InvalidMessageContents"],
  InvalidParameterValue: [400, "InvalidParameterValue"],
  MissingParameter: [400, "MissingParameter"],
  ReceiptHandleIsInvalid: [404, "ReceiptHandleIsInvalid"],
  MessageNotInflight: [400, "AWS.SimpleQueueService.MessageNotInflight"],
  EmptyBatchRequest: [400, "AWS.SimpleQueueService.EmptyBatchRequest"],
  TooManyEntriesInBatchRequest: [400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"],
  BatchEntryIdsNotDistinct: [400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"],
  BatchRequestTooLong: [400, "AWS.SimpleQueueService.BatchRequestTooLong"],
  InvalidBatchEntryId: [400, "AWS.SimpleQueueService.InvalidBatchEntryId"],
  UnsupportedOperation: [400, "AWS.SimpleQueueService.UnsupportedOperation"],
  OverLimit: [403, "OverLimit"],
  RequestThrottled: [403, "RequestThrottled"],
  AccessDenied: [403, "AccessDenied"],
  InvalidClientTokenId: [403, "InvalidClientTokenId"],
  SignatureDoesNotMatch: [403, "SignatureDoesNotMatch"],
  IncompleteSignature: [400, "IncompleteSignature"],
  MissingAuthenticationToken: [403, "MissingAuthenticationToken"],
  RequestExpired: [400, "RequestExpired"],
  UnknownOperationException: [400, "UnknownOperationException"],
  InvalidAction: [400, "InvalidAction"],
  InternalFailure: [500, "InternalFailure"],
} as const satisfies Record<string, readonly [number, string]>;

/** The name of an SQS error (its `__type`, and the SDK's exception class). */
export type SqsErrorName = keyof typeof SQS_ERRORS;

/**
 * A refusal in SQS's terms: thrown anywhere in the SQS layer, answered by {@link sqsErrorResponse}.
 *
 * @example
 * throw new SqsError("QueueDoesNotExist", "The specified queue does not exist.");
 */
export class SqsError extends Error {
  readonly type: SqsErrorName;

  constructor(type: SqsErrorName, message: string) {
    super(message);
    this.name = "SqsError";
    this.type = type;
  }
}

/**
 * The AWS JSON 1.0 error answer: `{"__type": "com.amazonaws.sqs#<Name>", "message"}` with the
 * `x-amzn-query-error: <code>;Sender` header (`Receiver` for the broker's own failures), which
 * the SDK reads to raise the exception class of the same name.
 *
 * @example
 * return sqsErrorResponse(new SqsError("InvalidParameterValue", "MaxNumberOfMessages must be 1 to 10"));
 */
export function sqsErrorResponse(error: SqsError): Response {
  const [status, code] = SQS_ERRORS[error.type];
  const fault = status >= 500 ? "Receiver" : "Sender";
  const body = JSON.stringify({ __type: `com.amazonaws.sqs#${error.type}`, message: error.message });
  return new Response(body, {
    status,
    headers: {
      "Content-Type": "application/x-amz-json-1.0",
      "x-amzn-query-error": `${code};${fault}`,
      "Cache-Control": "no-store",
    },
  });
}

/** How a failure of the broker reads in SQS's terms. */
const FROM_CODE: Record<ErrorCode, SqsErrorName> = {
  invalid_request: "InvalidParameterValue",
  invalid_name: "InvalidParameterValue",
  invalid_push_endpoint: "InvalidParameterValue",
  payload_too_large: "InvalidParameterValue",
  not_found: "QueueDoesNotExist",
  gone: "QueueDoesNotExist",
  unauthorized: "InvalidClientTokenId",
  forbidden: "AccessDenied",
  conflict: "UnsupportedOperation",
  topic_full: "OverLimit",
  rate_limited: "RequestThrottled",
  internal: "InternalFailure",
  schema_violation: "InvalidMessageContents",
  reply_timeout: "InternalFailure",
  no_responders: "InternalFailure",
};

/**
 * An SQS error for a broker error code, with the broker's sentence.
 *
 * @example
 * throw fromBrokerError("not_found", "the queue does not exist"); // QueueDoesNotExist
 */
export function fromBrokerError(code: ErrorCode, detail: string): SqsError {
  const type = FROM_CODE[code];
  const message = type === "QueueDoesNotExist" ? "The specified queue does not exist." : detail;
  return new SqsError(type, message);
}

/**
 * The value of a topic's answer, or its failure thrown as an SQS error.
 *
 * @example
 * const info = sqsUnwrap(await callQueue(env, "orders", "info", null));
 */
export function sqsUnwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw fromBrokerError(result.code, result.detail);
}
