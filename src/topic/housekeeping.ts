import { RETRY_LATER_MS } from "./alarm";
import { copyDeadLetters, type PublishTo } from "./dead-letter-copy";
import type { Registration } from "./registration";
import type { TopicStore } from "./store";

/**
 * What the alarm does, bounded per run so one run never holds the object for long. Safe to run
 * twice (alarms are at-least-once): every step looks at the clock and the rows, not at what an
 * earlier run did.
 */
export class Housekeeping {
  readonly #store: TopicStore;
  readonly #registration: Registration;
  readonly #publishTo: PublishTo;
  /** When failed work is tried again; 0 while nothing failed. */
  retryAt = 0;

  constructor(store: TopicStore, registration: Registration, publishTo: PublishTo) {
    this.#store = store;
    this.#registration = registration;
    this.#publishTo = publishTo;
  }

  /**
   * Expired leases come back, due retries become available, old messages and keys are deleted;
   * then the topic is registered if it is not yet, and dead letters are copied.
   */
  async run(now: number): Promise<void> {
    const { log, delivery } = this.#store;
    if (!log.meta) return;
    this.#store.transaction(() => {
      delivery.expireLeases(now);
      delivery.promoteDue(now);
      log.expire(now, delivery.protectedFrom());
      log.keys.expire(now);
    });
    let done = await this.#registration.register();
    if (delivery.deadLetters.any) done = (await copyDeadLetters(this.#store, this.#publishTo)) && done;
    this.retryAt = done ? 0 : now + RETRY_LATER_MS;
  }
}
