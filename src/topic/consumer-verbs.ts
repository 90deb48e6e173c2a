import { fail, ok, type Result } from "../protocol/errors";
import type {
  AckInput,
  ExtendInput,
  NackInput,
  PullOptions,
  PullResult,
  SeekTarget,
  StartAt,
} from "../protocol/topic-rpc";
import type { Changes } from "./changes";
import { noSubscription, tooManyPolls } from "./failures";
import type { LongPolls } from "./long-polls";
import type { TopicStore } from "./store";
import type { Subscription } from "./subscriptions";
import { pullsOf } from "./waiters";

/**
 * What a consumer does with a subscription — pull, ack, nack, extend, seek — over HTTP or over
 * its socket alike (DESIGN.md §3). Each is one transaction through `Changes`.
 */
export class ConsumerVerbs {
  readonly #store: TopicStore;
  readonly #changes: Changes;
  readonly #polls: LongPolls;

  constructor(store: TopicStore, changes: Changes, polls: LongPolls) {
    this.#store = store;
    this.#changes = changes;
    this.#polls = polls;
  }

  /** Leases up to `max` messages; long-polls up to `wait` ms when none is ready. */
  async pull(name: string, options: PullOptions): Promise<Result<PullResult>> {
    const { subscriptions, delivery } = this.#store;
    const found = subscriptions.get(name);
    if (!found) return noSubscription(name);
    if (found.config.push) {
      return fail(
        "conflict",
        `subscription ${name} delivers by push; switch it to pull with a PUT of "push": null`,
      );
    }
    const key = pullsOf(name);
    const messages = await this.#polls.waiters.waitFor(key, options.wait, () => {
      const subscription = subscriptions.get(name);
      if (!subscription) return []; // deleted: answer now, with the 404 below
      const leased = this.#changes.apply(
        () => delivery.deliver(subscription, options.max, Date.now(), null, undefined, options.ackTimeout),
        // A delivery makes nothing new available: only the alarm needs to know (lease expiry).
        "alarm",
      );
      return leased.length ? leased : null;
    });
    if (messages === "full") return tooManyPolls(this.#polls.limit);
    const meta = this.#store.meta;
    if (!meta || !subscriptions.get(name)) return noSubscription(name);
    // Pulls are woken one at a time: this one got messages, so there may be more for the next.
    if (messages?.length) this.#polls.waiters.wakeOne(key);
    return ok({ messages: messages ?? [], epoch: meta.epoch });
  }

  /** Settles delivered messages; seqs never delivered, or settled already, are not counted. */
  ack(name: string, { seqs, epoch }: AckInput): Result<{ acked: number }> {
    return this.#settle(name, epoch, (s) => ({ acked: this.#store.delivery.ack(s, seqs) }));
  }

  nack(name: string, { seqs, delay, epoch }: NackInput): Result<{ nacked: number }> {
    const now = Date.now();
    return this.#settle(name, epoch, (s) => ({ nacked: this.#store.delivery.nack(s, seqs, now, delay) }));
  }

  extend(name: string, { seqs, ackTimeout, epoch }: ExtendInput): Result<{ extended: number }> {
    const now = Date.now();
    return this.#settle(name, epoch, (s) => ({
      extended: this.#store.delivery.extend(s, seqs, now, ackTimeout),
    }));
  }

  seek(name: string, to: SeekTarget): Result<{ cursor: number }> {
    return this.#on(name, (s) => {
      const cursor = cursorFor(this.#store, typeof to === "number" ? { seq: to } : to);
      this.#store.delivery.seek(s, cursor);
      return { cursor };
    });
  }

  /** A consumer socket went away: what it held goes to the other consumers at once. */
  release(consumer: string): void {
    const released = this.#store.transaction(() => this.#store.delivery.releaseConsumer(consumer));
    if (released) this.#changes.react();
  }

  /**
   * A settlement names the epoch its messages were delivered in: one meant for a topic that has
   * since been deleted and re-created must not settle the new topic's messages of the same seqs.
   */
  #settle<T>(name: string, epoch: string | undefined, fn: (subscription: Subscription) => T): Result<T> {
    const current = this.#store.meta?.epoch;
    if (epoch !== undefined && current !== undefined && epoch !== current) {
      return fail(
        "conflict",
        `epoch ${epoch} is over: the topic was deleted and re-created (now ${current}); nothing was settled`,
      );
    }
    return this.#on(name, fn);
  }

  #on<T>(name: string, fn: (subscription: Subscription) => T): Result<T> {
    const subscription = this.#store.subscriptions.get(name);
    if (!subscription) return noSubscription(name);
    return ok(this.#changes.apply(() => fn(subscription)));
  }
}

/** The cursor a start position or seek target names. */
export function cursorFor(store: TopicStore, start: StartAt): number {
  const next = store.log.counters.nextSeq;
  if (start === "latest") return next;
  if (start === "earliest") return store.log.firstSeq() ?? next;
  // A seq past the head means "from the next message": a cursor beyond it would skip every
  // message published until the head caught up, silently.
  if ("seq" in start) return Math.min(Math.max(1, start.seq), next);
  return store.log.seqAtTime(start.time);
}
