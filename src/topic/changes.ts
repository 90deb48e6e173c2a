import type { TopicStore } from "./store";

/** What follows a change to the topic, in this order. */
export interface Reactions {
  /** Long-polls parked on the topic try again. */
  wake(): void;
  /** Sockets get what became available. */
  push(): void;
  /** The alarm is set to the earliest time something is due. */
  arm(): void;
}

/**
 * Who must hear of a change: `all` when something new may be available to readers; `sockets`
 * when only sockets can make use of it (a socket opened, or its credit grew); `alarm` when
 * nothing new is available but a due time moved (a delivery sets a lease expiry).
 */
export type Scope = "all" | "sockets" | "alarm";

/**
 * The one place where the topic changes: run a transaction, then react to what changed. Every
 * writer (RPC methods, socket frames, the alarm) goes through here, so no change can forget to
 * wake a long-poll, push to a socket or re-arm the alarm.
 *
 * @example
 * const acked = changes.apply(() => delivery.ack(subscription, seqs));
 */
export class Changes {
  readonly #store: TopicStore;
  readonly #reactions: Reactions;

  constructor(store: TopicStore, reactions: Reactions) {
    this.#store = store;
    this.#reactions = reactions;
  }

  /** Runs `fn` in one transaction, then reacts. */
  apply<T>(fn: () => T, scope: Scope = "all"): T {
    const value = this.#store.transaction(fn);
    this.react(scope);
    return value;
  }

  react(scope: Scope = "all"): void {
    if (scope === "all") this.#reactions.wake();
    if (scope !== "alarm") this.#reactions.push();
    this.#reactions.arm();
  }
}
