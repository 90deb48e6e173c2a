import { DEFAULT_QUEUE_SETTINGS, type QueueInfo, type QueuePutInput } from "../../protocol/sqs-queue";
import { SqsError } from "./errors";
import { queueArn, queueFromArn } from "./queue-url";

const S = 1000;
/** SQS's default retention of a new queue: 4 days. */
const DEFAULT_RETENTION_S = 345_600;
const DEFAULT_VISIBILITY_S = 30;
/** How long a FIFO queue remembers a deduplication id, as SQS does: 5 minutes. */
export const FIFO_DEDUP_WINDOW_MS = 5 * 60 * S;
const FIFO_SUFFIX = ".fifo";

/** The attributes a queue can be given, each with its bounds (seconds or bytes, as SQS has them). */
const NUMERIC = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1_048_576],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43_200],
} as const;
type NumericName = keyof typeof NUMERIC;

/** What `GetQueueAttributes` can answer. */
const READABLE = [
  "All",
  "QueueArn",
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
  "CreatedTimestamp",
  "LastModifiedTimestamp",
  "RedrivePolicy",
  "FifoQueue",
  "ContentBasedDeduplication",
  ...Object.keys(NUMERIC),
];

const badValue = (name: string, why: string) =>
  new SqsError("InvalidAttributeValue", `Invalid value for the parameter ${name}: ${why}`);

/** A queue's attributes as given to `CreateQueue` or `SetQueueAttributes`, checked. */
export interface QueueAttributeInput {
  numbers: Partial<Record<NumericName, number>>;
  /** `null`: the policy is removed (an empty `RedrivePolicy`). */
  redrive?: { deadLetterQueue: string; maxReceiveCount: number } | null;
  /** `FifoQueue` and `ContentBasedDeduplication`, when given. */
  fifo?: boolean;
  contentBasedDeduplication?: boolean;
  /** The attributes as given, for comparing with an existing queue's. */
  given: Record<string, string>;
}

/**
 * Checks a queue's `Attributes`: the numeric ones within SQS's bounds, `RedrivePolicy` naming a
 * queue of this broker by ARN and a `maxReceiveCount` of 1–1000, `FifoQueue` and
 * `ContentBasedDeduplication` `true` or `false` (see {@link checkQueueType}). The attributes of
 * encryption, access policies and redrive permissions are refused by name.
 *
 * @throws SqsError `InvalidAttributeName` or `InvalidAttributeValue`.
 * @example
 * parseQueueAttributes({ VisibilityTimeout: "60", RedrivePolicy: '{"deadLetterTargetArn":"arn:aws:sqs:edge:000000000000:dlq","maxReceiveCount":3}' });
 */
export function parseQueueAttributes(input: unknown): QueueAttributeInput {
  const parsed: QueueAttributeInput = { numbers: {}, given: {} };
  if (input === undefined || input === null) return parsed;
  if (typeof input !== "object" || Array.isArray(input)) throw badValue("Attributes", "must be a map");
  for (const [name, value] of Object.entries(input)) {
    if (typeof value !== "string") throw badValue(name, "must be a string");
    parsed.given[name] = value;
    if (name in NUMERIC) {
      const [min, max] = NUMERIC[name as NumericName];
      const n = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
      if (!(n >= min && n <= max)) throw badValue(name, `must be an integer from ${min} to ${max}`);
      parsed.numbers[name as NumericName] = n;
    } else if (name === "RedrivePolicy") {
      parsed.redrive = value === "" ? null : parseRedrivePolicy(value);
    } else if (name === "FifoQueue" || name === "ContentBasedDeduplication") {
      if (value !== "true" && value !== "false") throw badValue(name, "must be true or false");
      if (name === "FifoQueue") parsed.fifo = value === "true";
      else parsed.contentBasedDeduplication = value === "true";
    } else {
      throw new SqsError("InvalidAttributeName", `Unknown or unsupported attribute ${name}.`);
    }
  }
  return parsed;
}

/**
 * SQS's rules of queue types: a FIFO queue is made with both a name ending in `.fifo` and
 * `FifoQueue: "true"`, a standard queue with neither; the type never changes afterwards, and
 * `ContentBasedDeduplication` is a FIFO queue's alone.
 *
 * @throws SqsError `InvalidParameterValue` or `InvalidAttributeValue`.
 * @example
 * checkQueueType("orders.fifo", parseQueueAttributes({ FifoQueue: "true" }), { create: true });
 */
export function checkQueueType(
  name: string,
  attributes: QueueAttributeInput,
  { create }: { create: boolean },
): void {
  const named = name.endsWith(FIFO_SUFFIX);
  if (create && named && attributes.fifo !== true) {
    throw new SqsError(
      "InvalidParameterValue",
      `A queue whose name ends in ${FIFO_SUFFIX} is a FIFO queue: create it with the attribute FifoQueue set to true.`,
    );
  }
  if (attributes.fifo !== undefined && attributes.fifo !== named) {
    throw badValue(
      "FifoQueue",
      create
        ? `a FIFO queue's name ends in ${FIFO_SUFFIX}, a standard queue's does not.`
        : "a queue's type cannot be changed.",
    );
  }
  if (!named && attributes.contentBasedDeduplication === true) {
    throw badValue("ContentBasedDeduplication", "only a FIFO queue deduplicates by content.");
  }
}

function parseRedrivePolicy(text: string): { deadLetterQueue: string; maxReceiveCount: number } {
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    throw badValue("RedrivePolicy", "must be JSON");
  }
  const { deadLetterTargetArn, maxReceiveCount } = (policy ?? {}) as Record<string, unknown>;
  const deadLetterQueue = typeof deadLetterTargetArn === "string" ? queueFromArn(deadLetterTargetArn) : null;
  if (deadLetterQueue === null)
    throw badValue("RedrivePolicy", "deadLetterTargetArn must be the ARN of a queue");
  const count = Number(maxReceiveCount);
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw badValue("RedrivePolicy", "maxReceiveCount must be an integer from 1 to 1000");
  }
  return { deadLetterQueue, maxReceiveCount: count };
}

/**
 * What a queue's attributes change, as the topic takes it: a new queue starts at its topic's
 * oldest message, with SQS's defaults, redelivery as soon as a visibility timeout ends (no
 * backoff), and a new topic keeping messages for the retention period even unread (`drop-oldest`).
 * A FIFO queue's subscription is `ordered` (one message in flight per group) and its topic
 * remembers idempotency keys for 5 minutes.
 *
 * @example
 * const put = queuePut(parseQueueAttributes(body.Attributes), { create: true });
 */
export function queuePut(attributes: QueueAttributeInput, { create }: { create: boolean }): QueuePutInput {
  const { numbers, redrive } = attributes;
  const put: QueuePutInput = { create, newTopic: {}, topic: {}, subscription: {}, settings: {} };
  if (create) {
    put.newTopic = { onFull: "drop-oldest", retention: { maxAge: DEFAULT_RETENTION_S * S } };
    put.subscription = {
      startAt: "earliest",
      ackTimeout: DEFAULT_VISIBILITY_S * S,
      backoff: { min: 0, max: 0 },
      maxAttempts: null,
      deadLetterTopic: null,
    };
    put.settings = { ...DEFAULT_QUEUE_SETTINGS };
    if (attributes.fifo === true) {
      // One message in flight per group, and SQS's deduplication interval.
      put.subscription.ordered = true;
      put.topic.dedupWindow = FIFO_DEDUP_WINDOW_MS;
      put.settings.fifo = true;
    }
  }
  if (attributes.contentBasedDeduplication !== undefined) {
    put.settings.contentBasedDeduplication = attributes.contentBasedDeduplication;
  }
  if (numbers.MessageRetentionPeriod !== undefined) {
    put.topic.retention = { maxAge: numbers.MessageRetentionPeriod * S };
  }
  if (numbers.VisibilityTimeout !== undefined) put.subscription.ackTimeout = numbers.VisibilityTimeout * S;
  if (redrive !== undefined) {
    put.subscription.maxAttempts = redrive?.maxReceiveCount ?? null;
    put.subscription.deadLetterTopic = redrive?.deadLetterQueue ?? null;
  }
  if (numbers.DelaySeconds !== undefined) put.settings.delaySeconds = numbers.DelaySeconds;
  if (numbers.MaximumMessageSize !== undefined) put.settings.maximumMessageSize = numbers.MaximumMessageSize;
  if (numbers.ReceiveMessageWaitTimeSeconds !== undefined) {
    put.settings.receiveWaitTimeSeconds = numbers.ReceiveMessageWaitTimeSeconds;
  }
  return put;
}

/**
 * A queue's attributes as `GetQueueAttributes` answers them, every value a string. The counts
 * come from the subscription's kept stats: `ApproximateNumberOfMessages` is what is not in
 * flight (delayed messages included), `…NotVisible` what is in flight.
 *
 * @example
 * queueAttributes(info, "orders"); // { QueueArn: "arn:aws:sqs:edge:000000000000:orders", VisibilityTimeout: "30", … }
 */
export function queueAttributes(info: QueueInfo, name: string): Record<string, string> {
  const { topic, subscription, settings } = info;
  const { stats, config } = subscription;
  const seconds = (ms: number) => String(Math.floor(ms / S));
  const all: Record<string, string> = {
    QueueArn: queueArn(name),
    ApproximateNumberOfMessages: String(Math.max(0, stats.backlog - stats.inFlight)),
    ApproximateNumberOfMessagesNotVisible: String(stats.inFlight),
    ApproximateNumberOfMessagesDelayed: "0",
    CreatedTimestamp: seconds(subscription.createdAt),
    LastModifiedTimestamp: seconds(settings.modifiedAt),
    VisibilityTimeout: seconds(config.ackTimeout),
    MaximumMessageSize: String(settings.maximumMessageSize),
    DelaySeconds: String(settings.delaySeconds),
    ReceiveMessageWaitTimeSeconds: String(settings.receiveWaitTimeSeconds),
  };
  if (settings.fifo) {
    all.FifoQueue = "true";
    all.ContentBasedDeduplication = String(settings.contentBasedDeduplication);
  }
  if (topic.config.retention.maxAge !== null)
    all.MessageRetentionPeriod = seconds(topic.config.retention.maxAge);
  if (config.deadLetterTopic !== null && config.maxAttempts !== null) {
    all.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: queueArn(config.deadLetterTopic),
      maxReceiveCount: config.maxAttempts,
    });
  }
  return all;
}

/**
 * The attributes asked for by name (`All` for every one).
 *
 * @throws SqsError `InvalidAttributeName` for a name SQS does not know here.
 */
export function pickAttributes(all: Record<string, string>, names: unknown): Record<string, string> {
  if (names === undefined || names === null) return {};
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
    throw new SqsError("InvalidAttributeName", "AttributeNames must be a list of names");
  }
  const unknown = names.find((n) => !READABLE.includes(n));
  if (unknown !== undefined) throw new SqsError("InvalidAttributeName", `Unknown Attribute ${unknown}.`);
  if (names.includes("All")) return all;
  return Object.fromEntries(Object.entries(all).filter(([name]) => names.includes(name)));
}
