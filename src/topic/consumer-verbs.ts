import { fail, ok, type Result } from "../protocol/errors";
import type { WireMessage } from "../protocol/message";
import type { PullOptions, SeekTarget, StartAt } from "../protocol/topic-rpc";
import type { Changes } from "./changes";
import type { TopicStore } from "./store";
import type { Subscription } from "./subscriptions";
import type { Waiters } from "./waiters";

export const noSubscription = (name: string) => fail("not_found", `subscription ${name} does not exist`);

/**
 * What a consumer does with a subscription — pull, ack, nack, extend, seek — over HTTP or over
 * its socket alike (DESIGN.md §3). Each is one transaction through `Changes`.
 */
export class ConsumerVerbs {
  readonly #store: TopicStore;
  readonly #changes: Changes;
  readonly #waiters: Waiters;

  constructor(store: TopicStore, changes: Changes, waiters: Waiters) {
    this.#store = store;
    this.#changes = changes;
    this.#waiters = waiters;
  }

  /** Leases up to `max` messages; long-polls up to `wait` ms when none is ready. */
  async pull(name: string, options: PullOptions): Promise<Result<{ messages: WireMessage[] }>> {
    const { subscriptions, delivery } = this.#store;
    if (!subscriptions.get(name)) return noSubscription(name);
    const messages = await this.#waiters.waitFor(options.wait, () => {
      const subscription = subscriptions.get(name);
      if (!subscription) return null;
      const leased = this.#changes.apply(
        () => delivery.deliver(subscription, options.max, Date.now(), null),
        // A delivery makes nothing new available: only the alarm needs to know (lease expiry).
        "alarm",
      );
      return leased.length ? leased : null;
    });
    if (!subscriptions.get(name)) return noSubscription(name);
    return ok({ messages: messages ?? [] });
  }

  ack(name: string, seqs: number[]): Result<{ acked: number }> {
    return this.#on(name, (s) => ({ acked: this.#store.delivery.ack(s, seqs) }));
  }

  nack(name: string, seqs: number[], delay?: number): Result<{ nacked: number }> {
    return this.#on(name, (s) => ({ nacked: this.#store.delivery.nack(s, seqs, Date.now(), delay) }));
  }

  extend(name: string, seqs: number[], ackTimeout?: number): Result<{ extended: number }> {
    return this.#on(name, (s) => ({
      extended: this.#store.delivery.extend(s, seqs, Date.now(), ackTimeout),
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
  if ("seq" in start) return Math.max(1, start.seq);
  return store.log.seqAtTime(start.time);
}
