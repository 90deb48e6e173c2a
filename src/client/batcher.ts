import { BrokerError } from "./errors.js";
import { type BatchEntry, type BatchMessage, batchEntry, type PublishReceipt } from "./publish.js";

/**
 * How {@link Broker.publish} coalesces concurrent calls into batches, or `false` to send every
 * call as a request of its own.
 */
export interface BatchingOptions {
  /** Most messages in one batch (1–1,000, the broker's limit; default 1,000). */
  maxMessages?: number;
  /** Most bytes of JSON in one batch (default 4 MiB; the broker takes 8 MiB). */
  maxBytes?: number;
  /**
   * How long a publish waits for others to join its batch when nothing is in flight on its
   * topic, in ms (default 0: it goes at the end of the current turn, so a burst of calls made
   * together leaves as one request, and a lone call waits for nothing).
   */
  lingerMs?: number;
}

/** How a batcher reaches the broker: a batch of entries, or one message alone. */
export interface BatchSender {
  batch(topic: string, entries: BatchEntry[]): Promise<PublishReceipt[]>;
  single(topic: string, message: BatchMessage): Promise<PublishReceipt>;
}

interface Pending {
  message: BatchMessage;
  entry: BatchEntry;
  bytes: number;
  resolve: (receipt: PublishReceipt) => void;
  reject: (error: unknown) => void;
}

interface TopicQueue {
  pending: Pending[];
  inFlight: boolean;
  scheduled: boolean;
}

const MAX_MESSAGES = 1_000;
const utf8 = new TextEncoder();

/**
 * Coalesces concurrent publishes into `/batch` requests, the way a Kafka producer does, with
 * one request in flight per topic: while one is out, the calls that arrive wait and leave
 * together as the next. A topic's messages are therefore sent, and stored, in the order the
 * calls were made. Each call resolves with its own receipt. A batch is atomic, so when the
 * broker refuses one for its content (a 4xx other than 429), its messages are sent again one
 * by one and each call gets its own answer; any other failure (network, 429, 5xx) rejects
 * every call of the batch with it — none of them was stored.
 *
 * @example
 * const batcher = new PublishBatcher(sender, { lingerMs: 2 });
 * const receipts = await Promise.all(items.map((data) => batcher.add("orders", { data })));
 */
export class PublishBatcher {
  readonly #sender: BatchSender;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #lingerMs: number;
  readonly #queues = new Map<string, TopicQueue>();

  constructor(sender: BatchSender, options: BatchingOptions = {}) {
    this.#sender = sender;
    this.#maxMessages = Math.min(MAX_MESSAGES, Math.max(1, Math.floor(options.maxMessages ?? MAX_MESSAGES)));
    this.#maxBytes = Math.max(1, options.maxBytes ?? 4 * 1024 * 1024);
    this.#lingerMs = Math.max(0, options.lingerMs ?? 0);
  }

  /** Queues one message for its topic's next batch; resolves with its receipt. */
  add(topic: string, message: BatchMessage): Promise<PublishReceipt> {
    const entry = batchEntry(message);
    const bytes = utf8.encode(JSON.stringify(entry)).byteLength;
    return new Promise((resolve, reject) => {
      let queue = this.#queues.get(topic);
      if (queue === undefined) {
        queue = { pending: [], inFlight: false, scheduled: false };
        this.#queues.set(topic, queue);
      }
      queue.pending.push({ message, entry, bytes, resolve, reject });
      this.#schedule(topic, queue);
    });
  }

  #schedule(topic: string, queue: TopicQueue): void {
    if (queue.inFlight || queue.scheduled) return;
    queue.scheduled = true;
    const go = () => {
      queue.scheduled = false;
      void this.#flush(topic, queue);
    };
    if (this.#lingerMs > 0) setTimeout(go, this.#lingerMs);
    else queueMicrotask(go);
  }

  async #flush(topic: string, queue: TopicQueue): Promise<void> {
    const batch = this.#take(queue);
    if (batch.length === 0) {
      this.#queues.delete(topic);
      return;
    }
    queue.inFlight = true;
    try {
      await this.#send(topic, batch);
    } finally {
      queue.inFlight = false;
      if (queue.pending.length > 0) this.#schedule(topic, queue);
      else this.#queues.delete(topic);
    }
  }

  /** The next batch: the oldest waiting calls, within the count and byte bounds (at least one). */
  #take(queue: TopicQueue): Pending[] {
    let bytes = 0;
    let count = 0;
    for (const pending of queue.pending) {
      if (count === this.#maxMessages || (count > 0 && bytes + pending.bytes > this.#maxBytes)) break;
      bytes += pending.bytes;
      count++;
    }
    return queue.pending.splice(0, count);
  }

  async #send(topic: string, batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      // Alone, it goes as a plain publish: raw bytes, no base64.
      const [only] = batch as [Pending];
      await this.#sender.single(topic, only.message).then(only.resolve, only.reject);
      return;
    }
    let receipts: PublishReceipt[];
    try {
      receipts = await this.#sender.batch(
        topic,
        batch.map((p) => p.entry),
      );
    } catch (error) {
      if (refusedForContent(error)) {
        for (const pending of batch) {
          await this.#sender.single(topic, pending.message).then(pending.resolve, pending.reject);
        }
      } else {
        for (const pending of batch) pending.reject(error);
      }
      return;
    }
    for (const [i, pending] of batch.entries()) {
      const receipt = receipts[i];
      if (receipt === undefined)
        pending.reject(new BrokerError("internal", "the batch answer has no receipt"));
      else pending.resolve(receipt);
    }
  }
}

/** A refusal of what a batch holds, which sending its messages alone will pin on the one at fault. */
function refusedForContent(error: unknown): boolean {
  if (!(error instanceof BrokerError) || error.status === undefined) return false;
  return error.status >= 400 && error.status < 500 && error.status !== 429;
}
