import { LIMITS } from "../../protocol/limits";
import type { WireMessage } from "../../protocol/message";
import {
  DEDUPLICATION_ATTRIBUTE,
  type QueueSendInput,
  type QueueSendOutcome,
} from "../../protocol/sqs-queue";
import type { PublishReceipt } from "../../protocol/topic-rpc";
import { batchEntries, throttle } from "./batch";
import { callQueue, integer, need, type Operation, type SqsCall } from "./call";
import { SqsError } from "./errors";
import { isFifoName, noDeduplicationId, orderingFields } from "./fifo";
import { md5OfAttributes, md5OfBody, type SqsAttribute } from "./md5";
import {
  fromBase64,
  fromTopicAttributes,
  type StoredAttributes,
  toBase64,
  toTopicAttributes,
} from "./message-attributes";
import { ACCOUNT_ID, queueFromUrl } from "./queue-url";
import { receiptHandle } from "./receipt";

/** What SQS takes in a body: XML's characters (no lone surrogates, no other control characters). */
const INVALID_BODY_RE = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const BODY_TYPE = "text/plain; charset=utf-8";
const encoder = new TextEncoder();

/** A message to send, checked: the topic's input, and the checksums of the answer. */
interface Outgoing {
  input: QueueSendInput;
  md5Body: string;
  md5Attributes: string | null;
}

/**
 * Checks one message as SQS does — a body of XML characters, a delay of 0–900 s, attributes (see
 * ./message-attributes.ts), the group and deduplication ids (./fifo.ts) — and turns it into the
 * topic's input: the body as UTF-8 text, the attributes as strings, `MessageGroupId` as the
 * ordering key, `MessageDeduplicationId` as the idempotency key.
 */
function outgoing(entry: Record<string, unknown>, fifo: boolean): Outgoing {
  const body = entry.MessageBody;
  if (body === undefined || body === null || body === "") {
    throw new SqsError("MissingParameter", "The request must contain the parameter MessageBody.");
  }
  if (typeof body !== "string" || INVALID_BODY_RE.test(body)) {
    throw new SqsError(
      "InvalidMessageContents",
      "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
    );
  }
  const delay = integer(entry, "DelaySeconds", 0, 900);
  const ordering = orderingFields(entry, body, fifo);
  if (entry.MessageSystemAttributes !== undefined) {
    throw new SqsError("InvalidParameterValue", "MessageSystemAttributes are not supported by this broker");
  }
  const attributes: StoredAttributes = toTopicAttributes(entry.MessageAttributes);
  const bytes = encoder.encode(body);
  if (bytes.byteLength > LIMITS.messageBytes) {
    throw new SqsError(
      "InvalidParameterValue",
      `One or more parameters are invalid. Reason: Message must be shorter than ${LIMITS.messageBytes} bytes.`,
    );
  }
  const input: QueueSendInput = {
    body: bytes,
    contentType: BODY_TYPE,
    attributes: attributes.attributes,
    size: bytes.byteLength + attributes.size,
    ...ordering,
  };
  if (delay !== undefined) input.delay = delay * 1000;
  const md5Attributes = Object.keys(attributes.sqs).length > 0 ? md5OfAttributes(attributes.sqs) : null;
  return { input, md5Body: md5OfBody(body), md5Attributes };
}

function sent(message: Outgoing, receipt: PublishReceipt): Record<string, unknown> {
  const answer: Record<string, unknown> = { MessageId: receipt.id, MD5OfMessageBody: message.md5Body };
  if (message.md5Attributes !== null) answer.MD5OfMessageAttributes = message.md5Attributes;
  if (message.input.fifo) answer.SequenceNumber = String(receipt.seq);
  return answer;
}

/** Why a message was not sent, as the topic's answer tells it. */
function unsent(message: Outgoing, outcome: QueueSendOutcome): SqsError {
  const missingId = message.input.fifo && message.input.idempotencyKey === undefined;
  return missingId && !outcome.contentBasedDeduplication ? noDeduplicationId() : tooLarge(outcome.limit);
}

const tooLarge = (limit: number) =>
  new SqsError(
    "InvalidParameterValue",
    `One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`,
  );

const sendMessage: Operation = async (call) => {
  const queue = queueFromUrl(call.input.QueueUrl);
  need(call, "publish", queue);
  const message = outgoing(call.input, isFifoName(queue));
  await throttle(call);
  const outcome = await callQueue(call.env, queue, "send", [message.input]);
  const receipt = outcome.receipts[0];
  if (!receipt) throw unsent(message, outcome);
  return sent(message, receipt);
};

/** `SendMessageBatch`: the entries that are valid are sent together; the others are `Failed`. */
const sendMessageBatch: Operation = async (call) => {
  const queue = queueFromUrl(call.input.QueueUrl);
  need(call, "publish", queue);
  const entries = batchEntries(call.input.Entries);
  const fifo = isFifoName(queue);
  const failed: Record<string, unknown>[] = [];
  const valid: { id: string; message: Outgoing }[] = [];
  for (const entry of entries) {
    try {
      valid.push({ id: entry.Id as string, message: outgoing(entry, fifo) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      failed.push({ Id: entry.Id, SenderFault: true, Code: error.type, Message: error.message });
    }
  }
  const total = valid.reduce((n, v) => n + v.message.input.size, 0);
  if (total > LIMITS.messageBytes) {
    throw new SqsError(
      "BatchRequestTooLong",
      `Batch requests cannot be longer than ${LIMITS.messageBytes} bytes.`,
    );
  }
  const successful: Record<string, unknown>[] = [];
  if (valid.length > 0) {
    await throttle(call);
    const outcome = await callQueue(
      call.env,
      queue,
      "send",
      valid.map((v) => v.message.input),
    );
    valid.forEach(({ id, message }, i) => {
      const receipt = outcome.receipts[i];
      if (receipt) successful.push({ Id: id, ...sent(message, receipt) });
      else {
        const why = unsent(message, outcome);
        failed.push({ Id: id, SenderFault: true, Code: why.type, Message: why.message });
      }
    });
  }
  return { Successful: successful, Failed: failed };
};

/** A stored body as SQS text: a text or JSON body as its text, any other as its UTF-8 (or base64). */
function bodyOf(message: WireMessage): string {
  if (typeof message.data === "string") return message.data;
  if (message.data !== undefined) return JSON.stringify(message.data);
  const bytes = fromBase64(message.dataBase64 ?? "");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return message.dataBase64 ?? "";
  }
}

const SYSTEM_ATTRIBUTES = [
  "SenderId",
  "SentTimestamp",
  "ApproximateReceiveCount",
  "ApproximateFirstReceiveTimestamp",
  "MessageGroupId",
  "MessageDeduplicationId",
  "SequenceNumber",
];

function names(input: Record<string, unknown>, field: string): string[] {
  const value = input[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((n) => typeof n !== "string")) {
    throw new SqsError("InvalidParameterValue", `${field} must be a list of names`);
  }
  return value as string[];
}

function received(call: SqsCall, message: WireMessage, epoch: string): Record<string, unknown> {
  const body = bodyOf(message);
  const answer: Record<string, unknown> = {
    MessageId: message.id,
    ReceiptHandle: receiptHandle(epoch, message.seq, message.attempt ?? 1),
    MD5OfBody: md5OfBody(body),
    Body: body,
  };
  const system = [
    ...names(call.input, "AttributeNames"),
    ...names(call.input, "MessageSystemAttributeNames"),
  ];
  const all = system.includes("All");
  const values: Record<string, string> = {
    SenderId: ACCOUNT_ID,
    SentTimestamp: String(message.publishedAt),
    ApproximateReceiveCount: String(message.attempt ?? 1),
  };
  if (message.key !== undefined) values.MessageGroupId = message.key;
  // Only a message sent to a FIFO queue has a deduplication id and a sequence number.
  const deduplication = message.attributes[DEDUPLICATION_ATTRIBUTE];
  if (deduplication !== undefined) {
    values.MessageDeduplicationId = deduplication;
    values.SequenceNumber = String(message.seq);
  }
  const Attributes = Object.fromEntries(Object.entries(values).filter(([k]) => all || system.includes(k)));
  if (Object.keys(Attributes).length > 0) answer.Attributes = Attributes;
  const attributes = fromTopicAttributes(message.attributes, names(call.input, "MessageAttributeNames"));
  if (Object.keys(attributes).length > 0) {
    answer.MD5OfMessageAttributes = md5OfAttributes(attributes);
    answer.MessageAttributes = Object.fromEntries(Object.entries(attributes).map(([k, a]) => [k, onWire(a)]));
  }
  return answer;
}

const onWire = (a: SqsAttribute) =>
  a.BinaryValue === undefined ? a : { DataType: a.DataType, BinaryValue: toBase64(a.BinaryValue) };

/** `ReceiveMessage`: 1–10 messages, leased for the visibility timeout, long-polling up to 20 s. */
const receiveMessage: Operation = async (call) => {
  const queue = queueFromUrl(call.input.QueueUrl);
  need(call, "subscribe", queue);
  const max = integer(call.input, "MaxNumberOfMessages", 1, 10) ?? 1;
  const wait = integer(call.input, "WaitTimeSeconds", 0, 20);
  const visibility = integer(call.input, "VisibilityTimeout", 0, 43_200);
  for (const field of ["AttributeNames", "MessageSystemAttributeNames"]) {
    const unknown = names(call.input, field).find(
      (n) => n !== "All" && !SYSTEM_ATTRIBUTES.includes(n) && n !== "AWSTraceHeader",
    );
    if (unknown !== undefined) throw new SqsError("InvalidAttributeName", `Unknown Attribute ${unknown}.`);
  }
  const input: { max: number; wait?: number; visibilityTimeout?: number } = { max };
  if (wait !== undefined) input.wait = wait * 1000;
  if (visibility !== undefined) input.visibilityTimeout = visibility * 1000;
  const { messages, epoch } = await callQueue(call.env, queue, "receive", input);
  if (messages.length === 0) return {};
  return { Messages: messages.map((m) => received(call, m, epoch)) };
};

/** The message operations, by their `X-Amz-Target` name. */
export const MESSAGE_OPERATIONS: Record<string, Operation> = {
  SendMessage: sendMessage,
  SendMessageBatch: sendMessageBatch,
  ReceiveMessage: receiveMessage,
};
