import { can, visiblePatterns } from "../../auth/capabilities";
import { isValidName, NAME_RULE } from "../../protocol/names";
import { REGISTRY_NAME, type TopicListQuery } from "../../protocol/registry";
import { QUEUE_SUBSCRIPTION } from "../../protocol/sqs-queue";
import { copyLoop } from "../copy-loops";
import { callTopic } from "../topic-call";
import { callQueue, integer, need, type Operation, required, type SqsCall } from "./call";
import { SqsError, sqsUnwrap } from "./errors";
import {
  checkQueueType,
  parseQueueAttributes,
  pickAttributes,
  type QueueAttributeInput,
  queueAttributes,
  queuePut,
} from "./queue-attributes";
import { queueFromUrl, queueUrl } from "./queue-url";

/** How many topics a listing asks about at once, to see which of them are queues. */
const LISTING_FAN_OUT = 50;

function queueName(call: SqsCall): string {
  const name = required(call.input, "QueueName");
  if (!isValidName(name)) {
    throw new SqsError(
      "InvalidParameterValue",
      `Can only include alphanumeric characters, hyphens, periods or underscores: ${NAME_RULE}`,
    );
  }
  return name;
}

/**
 * A `RedrivePolicy`'s dead-letter queue must exist, be another queue, lead no copies back to this
 * one, and take publishes from the caller (the broker publishes dead letters on its behalf).
 */
async function checkRedrive(call: SqsCall, queue: string, attributes: QueueAttributeInput): Promise<void> {
  const target = attributes.redrive?.deadLetterQueue;
  if (target === undefined) return;
  const invalid = (why: string) =>
    new SqsError("InvalidParameterValue", `Value for parameter RedrivePolicy is invalid. Reason: ${why}`);
  if (target === queue) throw invalid("a queue cannot be its own dead-letter queue.");
  need(call, "publish", target);
  const found = await callTopic(call.env, target, (t) => t.sqs("info", null), { idempotent: true });
  if (!found.ok) throw invalid("Dead letter target does not exist.");
  const loop = await copyLoop(call.env, queue, target);
  if (loop) throw invalid(`dead letters would come back (${loop.join(" → ")}).`);
}

/** `CreateQueue`: the queue's URL; the same name again with other attributes is `QueueNameExists`. */
const createQueue: Operation = async (call) => {
  const name = queueName(call);
  need(call, "admin", name);
  if (call.input.tags !== undefined && Object.keys(call.input.tags ?? {}).length > 0) {
    throw new SqsError("InvalidParameterValue", "queue tags are not supported by this broker");
  }
  const attributes = parseQueueAttributes(call.input.Attributes);
  checkQueueType(name, attributes, { create: true });
  await checkRedrive(call, name, attributes);
  const outcome = await callQueue(call.env, name, "put", queuePut(attributes, { create: true }));
  if (outcome.kind === "exists") {
    const current = queueAttributes(outcome.queue, name);
    const differs = Object.entries(attributes.given).find(
      ([key, value]) => !sameValue(key, current[key], value),
    );
    if (differs) {
      throw new SqsError(
        "QueueNameExists",
        `A queue already exists with the same name and a different value for attribute ${differs[0]}`,
      );
    }
  }
  return { QueueUrl: queueUrl(call.origin, name) };
};

function sameValue(name: string, current: string | undefined, given: string): boolean {
  if (name === "RedrivePolicy" && current !== undefined && given !== "") {
    const a = JSON.parse(current);
    const b = JSON.parse(given);
    return (
      a.deadLetterTargetArn === b.deadLetterTargetArn &&
      Number(a.maxReceiveCount) === Number(b.maxReceiveCount)
    );
  }
  if (name === "FifoQueue" || name === "ContentBasedDeduplication") return (current ?? "false") === given;
  return (current ?? "") === given;
}

/** `GetQueueUrl`: for anyone who may send to the queue or receive from it. */
const getQueueUrl: Operation = async (call) => {
  const name = queueName(call);
  need(call, ["publish", "subscribe"], name);
  await callQueue(call.env, name, "info", null);
  return { QueueUrl: queueUrl(call.origin, name) };
};

/**
 * `ListQueues`: the queues among the topics the caller may see, in name order, a page of the
 * topic catalogue at a time (`NextToken`); a page holds those of its topics that are queues.
 */
const listQueues: Operation = async (call) => {
  const prefix = call.input.QueueNamePrefix;
  if (prefix !== undefined && (typeof prefix !== "string" || prefix.length > 128)) {
    throw new SqsError("InvalidParameterValue", "QueueNamePrefix must be a string of at most 128 characters");
  }
  const limit = integer(call.input, "MaxResults", 1, 1000) ?? 1000;
  const query: TopicListQuery = { limit };
  if (prefix) query.prefix = prefix;
  const token = call.input.NextToken;
  if (token !== undefined && token !== null) {
    const cursor = typeof token === "string" ? safeAtob(token) : "";
    if (!isValidName(cursor)) throw new SqsError("InvalidParameterValue", "Invalid NextToken value.");
    query.cursor = cursor;
  }
  const visibleTo = visiblePatterns(call.principal);
  if (visibleTo !== null) query.visibleTo = visibleTo;
  const page = await call.env.REGISTRY.getByName(REGISTRY_NAME).list(query);
  const names = page.topics.map((t) => t.name);
  const queues: string[] = [];
  for (let i = 0; i < names.length; i += LISTING_FAN_OUT) {
    const slice = names.slice(i, i + LISTING_FAN_OUT);
    const found = await Promise.all(
      slice.map((n) =>
        callTopic(call.env, n, (t) => t.getSubscription(QUEUE_SUBSCRIPTION), { idempotent: true }),
      ),
    );
    queues.push(...slice.filter((_, j) => found[j]?.ok));
  }
  const answer: Record<string, unknown> = { QueueUrls: queues.map((n) => queueUrl(call.origin, n)) };
  if (page.cursor) answer.NextToken = btoa(page.cursor);
  return answer;
};

function safeAtob(text: string): string {
  try {
    return atob(text);
  } catch {
    return "";
  }
}

/** `DeleteQueue`: deletes the topic, its messages and every subscription of it. */
const deleteQueue: Operation = async (call) => {
  const name = queueFromUrl(call.input.QueueUrl);
  need(call, "admin", name);
  await callQueue(call.env, name, "info", null);
  sqsUnwrap(await callTopic(call.env, name, (t) => t.destroy(), { idempotent: false }));
  return {};
};

/** `GetQueueAttributes`: counts for every reader; the `RedrivePolicy` only for an admin. */
const getQueueAttributes: Operation = async (call) => {
  const name = queueFromUrl(call.input.QueueUrl);
  need(call, "subscribe", name);
  const info = await callQueue(call.env, name, "info", null);
  const all = queueAttributes(info, name);
  if (!can(call.principal, "admin", name)) delete all.RedrivePolicy;
  const Attributes = pickAttributes(all, call.input.AttributeNames);
  return Object.keys(Attributes).length > 0 ? { Attributes } : {};
};

const setQueueAttributes: Operation = async (call) => {
  const name = queueFromUrl(call.input.QueueUrl);
  need(call, "admin", name);
  if (call.input.Attributes === undefined) {
    throw new SqsError("MissingParameter", "The request must contain the parameter Attributes.");
  }
  const attributes = parseQueueAttributes(call.input.Attributes);
  checkQueueType(name, attributes, { create: false });
  await checkRedrive(call, name, attributes);
  const outcome = await callQueue(call.env, name, "put", queuePut(attributes, { create: false }));
  if (outcome.kind === "absent")
    throw new SqsError("QueueDoesNotExist", "The specified queue does not exist.");
  return {};
};

/** `PurgeQueue`: the subscription's purge (every message sent so far is gone, in flight or not). */
const purgeQueue: Operation = async (call) => {
  const name = queueFromUrl(call.input.QueueUrl);
  need(call, "admin", name);
  sqsUnwrap(await callTopic(call.env, name, (t) => t.purge(QUEUE_SUBSCRIPTION), { idempotent: true }));
  return {};
};

/** The queue operations, by their `X-Amz-Target` name. */
export const QUEUE_OPERATIONS: Record<string, Operation> = {
  CreateQueue: createQueue,
  GetQueueUrl: getQueueUrl,
  ListQueues: listQueues,
  DeleteQueue: deleteQueue,
  GetQueueAttributes: getQueueAttributes,
  SetQueueAttributes: setQueueAttributes,
  PurgeQueue: purgeQueue,
};
