import type { TopicStore } from "./store";

/** Retry a failed dead-letter copy or registry call after this long. */
export const RETRY_LATER_MS = 10_000;

/** What else the alarm waits for, besides what SQLite knows. */
export interface AlarmSources {
  /** When the earliest socket token expires. */
  socketExpiry(): number | null;
  /** Whether the Registry has the topic. */
  registered(): boolean;
  /** When failed housekeeping (a dead-letter copy, registration) is tried again; 0 = not failed. */
  retryAt(): number;
  /** When push subscriptions held back by their rate or a receiver's pause may send again. */
  pushDue(): number | null;
  /** When the topic expires as a stream (its TTL or expiry time). */
  expiry(): number | null;
  /** When the next round of Analytics Engine data points is due (./analytics.ts). */
  analyticsDue(): number | null;
}

/**
 * The one alarm of a topic (DESIGN.md §3), recomputed after every change from what is stored —
 * the earliest of lease expiry, retry or delayed message due, age retention, idempotency-key
 * expiry, a route behind or due for a retry — and from pending housekeeping and socket expiry. The alarm survives a restart; a timer
 * in memory would not.
 */
export class Alarm {
  readonly #storage: DurableObjectStorage;
  readonly #store: TopicStore;
  readonly #sources: AlarmSources;
  #at: number | null = null;

  constructor(storage: DurableObjectStorage, store: TopicStore, sources: AlarmSources) {
    this.#storage = storage;
    this.#store = store;
    this.#sources = sources;
  }

  /** Learns when the stored alarm is set, so `arm` does not write it again. */
  async load(): Promise<void> {
    this.#at = await this.#storage.getAlarm();
  }

  /** The alarm has fired: it is no longer set. */
  fired(): void {
    this.#at = null;
  }

  arm(): void {
    const now = Date.now();
    const at = this.next(now);
    if (at === this.#at) return;
    // Due now and already set to go off: writing the alarm again on every publish would only cost.
    if (at !== null && this.#at !== null && at <= now && this.#at <= now) return;
    this.#at = at;
    if (at === null) void this.#storage.deleteAlarm();
    else void this.#storage.setAlarm(at);
  }

  /** When the alarm should next run, or `null` when nothing is due. */
  next(now: number): number | null {
    const { log, delivery } = this.#store;
    // Tails waiting for the topic still close when their token expires.
    if (!log.meta) return this.#sources.socketExpiry();
    const retryAt = this.#sources.retryAt();
    const times = [
      delivery.nextDue(),
      log.nextExpiry(this.#store.protectedFrom()),
      this.#store.routes.nextDue(log.counters.nextSeq, now),
      log.keys.nextExpiry(),
      this.#sources.socketExpiry(),
      this.#sources.pushDue(),
      this.#sources.expiry(),
      this.#sources.analyticsDue(),
    ];
    // Dead letters are copied at once; registration is already under way and only needs a retry.
    if (delivery.deadLetters.any) times.push(retryAt || now);
    if (!this.#sources.registered()) times.push(retryAt || now + RETRY_LATER_MS);
    const due = times.filter((t): t is number => t !== null);
    return due.length ? Math.min(...due) : null;
  }
}
