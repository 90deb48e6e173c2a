import { LIMITS } from "../protocol/limits";
import type { DeadLetters } from "./dead-letters";
import { compileFilter, type Filterable } from "./filter";
import type { Leases } from "./leases";
import type { Log } from "./log";
import type { Retries } from "./retries";
import type { Subscription, Subscriptions } from "./subscriptions";

/** How many log rows one count reads per statement. */
const COUNT_PAGE = 1_000;

/**
 * A subscription's backlog and ack floor, kept cheap enough to list a thousand subscriptions at
 * once: in flight and dead-letter counts are kept in memory by their tables' owners, waiting
 * retries are counted once and kept until a write, and messages never delivered are arithmetic
 * on seqs (the log holds every seq from its first to its last). Only a filtered subscription must
 * look at messages to count them: it counts once, then keeps the count as messages are published
 * and delivered, and counts again after a seek, a config change or a retention deletion.
 */
export class Backlog {
  readonly #log: Log;
  readonly #subscriptions: Subscriptions;
  readonly #leases: Leases;
  readonly #retries: Retries;
  readonly #deadLetters: DeadLetters;
  /** Filtered subscriptions: messages at or after the cursor that pass the filter. */
  readonly #filtered = new Map<string, { count: number; deletions: number }>();

  constructor(
    log: Log,
    subscriptions: Subscriptions,
    tables: { leases: Leases; retries: Retries; deadLetters: DeadLetters },
  ) {
    this.#log = log;
    this.#subscriptions = subscriptions;
    this.#leases = tables.leases;
    this.#retries = tables.retries;
    this.#deadLetters = tables.deadLetters;
  }

  /**
   * Messages the subscription has not acked — never delivered (only those its filter lets
   * through), in flight, waiting for a retry, or waiting for their dead-letter copy — and how
   * many of them are in flight.
   */
  stats(subscription: Subscription): { backlog: number; inFlight: number } {
    const name = subscription.name;
    const inFlight = this.#leases.count(name);
    const waiting = this.#retries.waiting(name) + this.#deadLetters.count(name);
    return { backlog: this.#fresh(subscription) + inFlight + waiting, inFlight };
  }

  /** Every seq below it is acked by this subscription. */
  ackFloor(subscription: Subscription): number {
    const { cursor, name } = subscription;
    const retry = this.#retries.lowestSeq(name) ?? cursor;
    const dead = this.#deadLetters.lowestSeq(name) ?? cursor;
    return Math.min(retry, dead, this.#leases.lowestSeq(name) ?? cursor, cursor);
  }

  /** Messages were appended: the kept counts of filtered subscriptions take those that pass. */
  appended(
    messages: readonly { attributes: Record<string, string>; contentType: string; body: Uint8Array }[],
  ): void {
    if (this.#filtered.size === 0) return;
    const stored: Filterable[] = messages.map((m) => ({
      attributes: m.attributes,
      content_type: m.contentType,
      body: m.body,
    }));
    for (const [name, kept] of this.#filtered) {
      const filter = compileFilter(this.#subscriptions.get(name)?.config.filter);
      if (filter) kept.count += stored.filter((message) => filter.test(message)).length;
    }
  }

  /** A delivery moved the cursor over messages, `passed` of which passed the filter. */
  scanned(subscription: Subscription, passed: number): void {
    const kept = this.#filtered.get(subscription.name);
    if (kept) kept.count -= passed;
  }

  /** The subscription's cursor or filter changed (or it is gone): count again when asked. */
  forget(name: string): void {
    this.#filtered.delete(name);
  }

  unload(): void {
    this.#filtered.clear();
  }

  /** Messages at or after the cursor that the subscription's filter lets through. */
  #fresh(subscription: Subscription): number {
    const { nextSeq } = this.#log.counters;
    const first = Math.max(subscription.cursor, this.#log.firstSeq() ?? nextSeq);
    const filter = compileFilter(subscription.config.filter);
    if (!filter) return Math.max(0, nextSeq - first);
    const kept = this.#filtered.get(subscription.name);
    if (kept && kept.deletions === this.#log.deletions) return kept.count;
    let count = 0;
    for (let after = first - 1; after < nextSeq - 1; ) {
      // A filter on bodies reads them a page at a time, bounded in bytes.
      const heads = filter.needsBody
        ? this.#log.headsWithBodies(after, COUNT_PAGE, LIMITS.pageBytes)
        : this.#log.heads(after, COUNT_PAGE);
      count += heads.filter((head) => filter.test(head)).length;
      const last = heads.at(-1)?.seq;
      if (last === undefined || last >= nextSeq - 1) break;
      after = last;
    }
    this.#filtered.set(subscription.name, { count, deletions: this.#log.deletions });
    return count;
  }
}
