/**
 * A topic as an Amazon SQS queue (DESIGN.md §10): the RPC surface of the topic's object that the
 * SQS layer (src/http/sqs) calls. A queue named Q is the topic Q with the one subscription
 * {@link QUEUE_SUBSCRIPTION}; what SQS keeps about a queue that a topic and a subscription have no
 * place for (a default delay, a default wait, a size limit) is the queue's settings.
 */
import type {
  PublishInput,
  PublishReceipt,
  PullResult,
  SubscriptionConfigPatch,
  SubscriptionInfo,
  TopicConfigPatch,
  TopicInfo,
} from "./topic-rpc.js";

/** The subscription that makes a topic a queue. */
export const QUEUE_SUBSCRIPTION = "sqs";

/** A queue's own attributes, kept with its topic (the `queue` table). */
export interface QueueSettings {
  /** Delay of a message sent without `DelaySeconds`, s. */
  delaySeconds: number;
  /** Wait of a receive sent without `WaitTimeSeconds`, s. */
  receiveWaitTimeSeconds: number;
  /** Largest message (body and attributes), bytes. */
  maximumMessageSize: number;
  /** A FIFO queue: one message in flight per group, each send deduplicated. Set at creation only. */
  fifo: boolean;
  /** A FIFO queue's sends without a `MessageDeduplicationId` are deduplicated by their body's SHA-256. */
  contentBasedDeduplication: boolean;
  /** When the settings were last changed (or the queue created), epoch ms. */
  modifiedAt: number;
}

/** What a queue has before any attribute says otherwise (SQS's defaults). */
export const DEFAULT_QUEUE_SETTINGS: Omit<QueueSettings, "modifiedAt"> = {
  delaySeconds: 0,
  receiveWaitTimeSeconds: 0,
  maximumMessageSize: 262_144,
  fifo: false,
  contentBasedDeduplication: false,
};

/**
 * The attribute that keeps a FIFO message's `MessageDeduplicationId` (the one given, or the body's
 * SHA-256), so a receive can answer it. It is the broker's (`broker.` is refused from publishers).
 */
export const DEDUPLICATION_ATTRIBUTE = "broker.sqs.deduplication-id";

/** A queue: its topic, its subscription and its settings. */
export interface QueueInfo {
  topic: TopicInfo;
  subscription: SubscriptionInfo;
  settings: QueueSettings;
}

/** `CreateQueue` (`create`) or `SetQueueAttributes`: what changes, validated by the worker. */
export interface QueuePutInput {
  /** Create the queue when it does not exist; an existing one is answered `exists`, unchanged. */
  create: boolean;
  /** Applied to the topic when this creates it, before `topic` (a new queue's topic). */
  newTopic: TopicConfigPatch;
  /** Applied to the topic whether it is new or not (what the attributes set). */
  topic: TopicConfigPatch;
  subscription: SubscriptionConfigPatch;
  settings: Partial<Omit<QueueSettings, "modifiedAt">>;
}

export type QueuePutOutcome =
  | { kind: "created" | "updated"; queue: QueueInfo }
  /** `create` found the queue: nothing was written. */
  | { kind: "exists"; queue: QueueInfo }
  /** Not `create`, and there is no queue. */
  | { kind: "absent" };

/**
 * A message to send: `delay` omitted takes the queue's `DelaySeconds`; `size` as SQS counts it.
 * A message for a FIFO queue has `fifo`, its `MessageGroupId` as `key` and its
 * `MessageDeduplicationId`, if any, as `idempotencyKey`.
 */
export interface QueueSendInput extends PublishInput {
  size: number;
  fifo?: {
    /** The body's SHA-256 (hex): the idempotency key when none is given and the queue deduplicates by content. */
    contentHash: string;
  };
}

/**
 * Each message's receipt, in order, or `null` for one not sent: larger than the queue's
 * `MaximumMessageSize` (`limit`), or, on a FIFO queue without `contentBasedDeduplication`,
 * without an idempotency key. The others were sent together.
 */
export interface QueueSendOutcome {
  receipts: (PublishReceipt | null)[];
  limit: number;
  contentBasedDeduplication: boolean;
}

/** `ReceiveMessage`: `wait` omitted takes the queue's wait; `visibilityTimeout` the queue's. */
export interface QueueReceiveInput {
  max: number;
  /** ms */
  wait?: number;
  /** ms; 0 leaves the messages visible at once. */
  visibilityTimeout?: number;
}

/** A receipt handle, decoded: the delivery it was handed out with. */
export interface QueueReceipt {
  seq: number;
  /** The delivery (1 for the first receive) the handle came with. */
  attempt: number;
}

/** What a settlement does to each message: delete it, or make it visible again after `ms`. */
export type QueueSettleAction = { kind: "delete" } | { kind: "visibility"; ms: number };

export interface QueueSettleInput {
  /** The topic's epoch the handles were handed out in. */
  epoch: string;
  receipts: QueueReceipt[];
  action: QueueSettleAction;
}

/**
 * Each receipt's fate: `ok`; `stale` when the message was received again since (a newer handle
 * exists) or the handle belongs to another epoch; `not-in-flight` when a visibility change finds
 * the message visible already (or deleted).
 */
export type QueueSettleOutcome = "ok" | "stale" | "not-in-flight";

/** The operations of the topic's `sqs` RPC method: each one's input and answer. */
export interface QueueCalls {
  info: { input: null; output: QueueInfo };
  put: { input: QueuePutInput; output: QueuePutOutcome };
  send: { input: QueueSendInput[]; output: QueueSendOutcome };
  receive: { input: QueueReceiveInput; output: PullResult };
  settle: { input: QueueSettleInput; output: QueueSettleOutcome[] };
}

export type QueueOp = keyof QueueCalls;
