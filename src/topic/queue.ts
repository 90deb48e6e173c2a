import { fail, ok, type Result } from "../protocol/errors";
import {
  DEDUPLICATION_ATTRIBUTE,
  QUEUE_SUBSCRIPTION,
  type QueueCalls,
  type QueueInfo,
  type QueueOp,
  type QueuePutInput,
  type QueuePutOutcome,
  type QueueReceiveInput,
  type QueueSendInput,
  type QueueSendOutcome,
  type QueueSettings,
  type QueueSettleInput,
  type QueueSettleOutcome,
} from "../protocol/sqs-queue";
import type { PullResult } from "../protocol/topic-rpc";
import type { TopicAdmin } from "./admin";
import type { Changes } from "./changes";
import type { ConsumerVerbs } from "./consumer-verbs";
import type { Publishing } from "./publishing";
import type { TopicStore } from "./store";

const noQueue = () => fail("not_found", "the queue does not exist");

/**
 * The topic as an SQS queue (DESIGN.md §10): the topic with the subscription `sqs`, and the
 * queue's settings (./queue-settings.ts). Each operation is one call of the object, so a send
 * takes the queue's default delay and a receive its default wait without a second round trip.
 */
export class Queue {
  readonly #store: TopicStore;
  readonly #changes: Changes;
  readonly #admin: TopicAdmin;
  readonly #publishing: Publishing;
  readonly #verbs: ConsumerVerbs;

  constructor(deps: {
    store: TopicStore;
    changes: Changes;
    admin: TopicAdmin;
    publishing: Publishing;
    verbs: ConsumerVerbs;
  }) {
    this.#store = deps.store;
    this.#changes = deps.changes;
    this.#admin = deps.admin;
    this.#publishing = deps.publishing;
    this.#verbs = deps.verbs;
  }

  /** Runs one operation (the topic's `sqs` RPC method). */
  run<K extends QueueOp>(op: K, input: QueueCalls[K]["input"]): Promise<Result<QueueCalls[K]["output"]>> {
    const calls: { [Op in QueueOp]: (input: never) => unknown } = {
      info: () => this.info(),
      put: (i: QueuePutInput) => this.put(i),
      send: (i: QueueSendInput[]) => this.send(i),
      receive: (i: QueueReceiveInput) => this.receive(i),
      settle: (i: QueueSettleInput) => this.settle(i),
    };
    return Promise.resolve(calls[op](input as never) as Result<QueueCalls[K]["output"]>);
  }

  info(): Result<QueueInfo> {
    const meta = this.#store.meta;
    const topic = this.#admin.info();
    const subscription = this.#admin.getSubscription(QUEUE_SUBSCRIPTION);
    if (!meta || !topic.ok || !subscription.ok) return noQueue();
    const settings = this.#store.queue.current(subscription.value.createdAt);
    return ok({ topic: topic.value, subscription: subscription.value, settings });
  }

  /**
   * Creates the queue or changes its attributes. The subscription is written last: it is what
   * makes the topic a queue, so a create cut short by a crash leaves no queue, and its retry
   * writes everything again.
   */
  async put(input: QueuePutInput): Promise<Result<QueuePutOutcome>> {
    const found = this.info();
    if (input.create && found.ok) return ok({ kind: "exists", queue: found.value });
    if (!input.create && !found.ok) return ok({ kind: "absent" });
    if (!this.#store.meta) {
      const made = await this.#admin.putConfig(input.newTopic);
      if (!made.ok) return made;
    }
    if (Object.keys(input.topic).length > 0) {
      const changed = await this.#admin.putConfig(input.topic);
      if (!changed.ok) return changed;
    }
    const now = Date.now();
    const base = found.ok ? found.value.settings : this.#store.queue.current(now);
    this.#changes.apply(
      () => this.#store.queue.save({ ...base, ...input.settings, modifiedAt: now }),
      "alarm",
    );
    const put = await this.#admin.putSubscription(QUEUE_SUBSCRIPTION, input.subscription);
    if (!put.ok) return put;
    const queue = this.info();
    if (!queue.ok) return queue;
    return ok({ kind: input.create ? "created" : "updated", queue: queue.value });
  }

  /**
   * Sends the messages that fit the queue's size limit together, each with the queue's delay
   * unless it names its own. On a FIFO queue each is deduplicated: by its idempotency key, or by
   * its body's SHA-256 when the queue says so (otherwise it is not sent); the key is kept with it.
   */
  async send(messages: QueueSendInput[]): Promise<Result<QueueSendOutcome>> {
    const settings = this.#settings();
    if (!settings) return noQueue();
    const { delaySeconds, maximumMessageSize, fifo, contentBasedDeduplication } = settings;
    if (messages.some((message) => (message.fifo !== undefined) !== fifo)) {
      return fail("invalid_request", `the queue is a ${fifo ? "FIFO" : "standard"} queue`);
    }
    const sendable = (message: QueueSendInput) =>
      message.size <= maximumMessageSize &&
      (!fifo || message.idempotencyKey !== undefined || contentBasedDeduplication);
    const inputs = messages.filter(sendable).map(({ size: _, fifo: fifoInput, ...message }) => {
      const delayed =
        message.delay === undefined && delaySeconds > 0
          ? { ...message, delay: delaySeconds * 1000 }
          : message;
      if (!fifoInput) return delayed;
      const idempotencyKey = message.idempotencyKey ?? fifoInput.contentHash;
      const attributes = { ...message.attributes, [DEDUPLICATION_ATTRIBUTE]: idempotencyKey };
      return { ...delayed, idempotencyKey, attributes };
    });
    const published = inputs.length > 0 ? await this.#publishing.publish(inputs, { ifExists: true }) : ok([]);
    if (!published.ok) return published;
    const sent = [...published.value];
    const receipts = messages.map((message) => (sendable(message) ? (sent.shift() ?? null) : null));
    return ok({ receipts, limit: maximumMessageSize, contentBasedDeduplication });
  }

  /** Leases up to `max` messages for the visibility timeout, waiting as the queue says. */
  async receive(input: QueueReceiveInput): Promise<Result<PullResult>> {
    const settings = this.#settings();
    if (!settings) return noQueue();
    const wait = input.wait ?? settings.receiveWaitTimeSeconds * 1000;
    const queued = this.#store.subscriptions.get(QUEUE_SUBSCRIPTION);
    // A queue whose VisibilityTimeout is 0 releases what it hands out as a receive of 0 does.
    const visibility = input.visibilityTimeout ?? (queued?.config.ackTimeout === 0 ? 0 : undefined);
    const options = { max: input.max, wait, ...(visibility ? { ackTimeout: visibility } : {}) };
    const pulled = await this.#verbs.pull(QUEUE_SUBSCRIPTION, options);
    // A visibility timeout of 0 leaves the messages visible at once: received, counted, released.
    if (pulled.ok && visibility === 0 && pulled.value.messages.length > 0) {
      const seqs = pulled.value.messages.map((m) => m.seq);
      this.#verbs.nack(QUEUE_SUBSCRIPTION, { seqs, delay: 0 });
    }
    return pulled;
  }

  /**
   * Deletes messages or changes their visibility, by the receipts of their newest delivery. A
   * receipt of an earlier delivery (the message was received again since) or of another epoch
   * of the topic is `stale` and changes nothing; a message deleted already is deleted (`ok`).
   */
  settle({ epoch, receipts, action }: QueueSettleInput): Result<QueueSettleOutcome[]> {
    const subscription = this.#store.subscriptions.get(QUEUE_SUBSCRIPTION);
    const meta = this.#store.meta;
    if (!meta || !subscription) return noQueue();
    if (epoch !== meta.epoch) return ok(receipts.map(() => "stale"));
    const { delivery } = this.#store;
    const outstanding = delivery.outstanding(QUEUE_SUBSCRIPTION, [...new Set(receipts.map((r) => r.seq))]);
    const outcomes = receipts.map(({ seq, attempt }): QueueSettleOutcome => {
      const now = outstanding.get(seq);
      if (!now) return action.kind === "delete" ? "ok" : "not-in-flight";
      if (attempt !== now.attempts) return "stale";
      return action.kind === "visibility" && !now.leased ? "not-in-flight" : "ok";
    });
    const seqs = receipts.filter((_, i) => outcomes[i] === "ok" && outstanding.has(receipts[i]?.seq ?? 0));
    const settled = [...new Set(seqs.map((r) => r.seq))];
    if (settled.length > 0) {
      this.#changes.apply(() => {
        const time = Date.now();
        if (action.kind === "delete") delivery.ack(subscription, settled);
        else if (action.ms === 0) delivery.nack(subscription, settled, time, 0);
        else delivery.extend(subscription, settled, time, action.ms);
      });
    }
    return ok(outcomes);
  }

  /** The queue's settings, or `null` when the topic is not a queue. */
  #settings(): QueueSettings | null {
    const subscription = this.#store.subscriptions.get(QUEUE_SUBSCRIPTION);
    if (!this.#store.meta || !subscription) return null;
    return this.#store.queue.current(subscription.createdAt);
  }
}
