import { ok, type Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import type { ReadOptions, ReadResult } from "../protocol/topic-rpc";
import { noTopic, tooManyPolls } from "./failures";
import { toWire } from "./message-rows";
import type { TopicStore } from "./store";
import { pullsOf, READS, Waiters } from "./waiters";

/**
 * The topic's long-polls (log reads with `wait`, pulls with `wait`) and when they are woken: after
 * a change, reads only when the log grew or the topic went away, and one pull per subscription
 * that has some parked (see ./waiters.ts).
 */
export class LongPolls {
  readonly waiters: Waiters;
  readonly limit: number;
  readonly #store: TopicStore;
  /** The log's next seq when reads were last woken. */
  #seen = 0;

  constructor(store: TopicStore, limit: number) {
    this.#store = store;
    this.limit = limit;
    this.waiters = new Waiters(limit);
  }

  /** Messages after `after` (from the oldest retained without it); waits up to `wait` ms for one. */
  async read(options: ReadOptions): Promise<Result<ReadResult>> {
    const { log } = this.#store;
    const waiting = options.waitForTopic === true && !log.meta;
    if (!log.meta && !waiting) return noTopic();
    const after = options.after ?? 0;
    const rows = await this.waiters.waitFor(READS, options.wait, () => {
      // Created meanwhile: answer now, so the reader learns the epoch before any message.
      if (waiting) return log.meta ? [] : null;
      if (!log.meta) return []; // deleted: answer now, with the 404 below
      const found = log.read(after, options.limit, LIMITS.pageBytes);
      return found.length ? found : null;
    });
    if (rows === "full") return tooManyPolls(this.limit);
    const meta = log.meta;
    if (!meta && waiting) return ok({ messages: [], next: after, epoch: null });
    if (!meta) return noTopic();
    const messages = (rows ?? []).map(toWire);
    return ok({ messages, next: messages.at(-1)?.seq ?? after, epoch: meta.epoch });
  }

  /** After a change: reads when there is something new for them, and a pull per subscription. */
  wake(): void {
    const next = this.#store.meta ? this.#store.log.counters.nextSeq : 0;
    if (next !== this.#seen) {
      this.#seen = next;
      this.waiters.wakeAll(READS);
    }
    for (const key of this.waiters.keys()) if (key !== READS) this.waiters.wakeOne(key);
  }

  /** The topic or a subscription went away: its polls answer now (with their 404). */
  wakeAll(subscription?: string): void {
    this.waiters.wakeAll(subscription === undefined ? undefined : pullsOf(subscription));
  }
}
