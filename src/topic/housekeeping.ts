import { RETRY_LATER_MS } from "./alarm";
import { copyDeadLetters, type PublishTo } from "./dead-letter-copy";
import type { Registration } from "./registration";
import type { RouteForwarding } from "./route-forwarding";
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
  readonly #routes: RouteForwarding;
  /** When failed work is tried again; 0 while nothing failed. */
  retryAt = 0;

  constructor(store: TopicStore, registration: Registration, publishTo: PublishTo, routes: RouteForwarding) {
    this.#store = store;
    this.#registration = registration;
    this.#publishTo = publishTo;
    this.#routes = routes;
  }

  /**
   * Expired leases come back, due retries become available, old messages and keys are deleted;
   * then the topic is registered if it is not yet, dead letters are copied and routes forward
   * (each of these last on its own, so that one failing holds back no other).
   */
  async run(now: number): Promise<void> {
    const { log, delivery } = this.#store;
    if (!log.meta) return;
    this.#store.transaction(() => {
      delivery.expireLeases(now);
      delivery.promoteDue(now);
      log.expire(now, this.#store.protectedFrom());
      log.keys.expire(now);
    });
    const [registered, copied] = await Promise.all([
      this.#registration.register(),
      delivery.deadLetters.any ? copyDeadLetters(this.#store, this.#publishTo) : true,
      this.#routes.run(now),
    ]);
    this.retryAt = registered && copied ? 0 : now + RETRY_LATER_MS;
  }
}
