import type { BrokerError } from "./errors.js";

/**
 * The state of a subscription's or live tail's connection.
 *
 * - `connecting`: a socket is being opened (`attempt` 0 for the first one).
 * - `open`: the broker said `hello`; messages flow. `epoch` is `null` while a live tail waits for
 *   its topic to be created (then `open` comes again, with the epoch).
 * - `reconnecting`: the socket was lost; the next attempt starts in `delay` ms.
 * - `closed`: for good, by `close()` (no `error`) or by a failure that retrying cannot
 *   fix (`error`: deleted topic or subscription, refused token, changed epoch …).
 *
 * @example
 * subscription.addEventListener("status", (event) => {
 *   const { status } = event as StatusEvent;
 *   if (status.type === "reconnecting") console.warn(`retrying in ${status.delay} ms`, status.error);
 * });
 */
export type ConnectionStatus =
  | { type: "connecting"; attempt: number }
  | { type: "open"; session: string; epoch: string | null }
  | { type: "reconnecting"; attempt: number; delay: number; error: BrokerError }
  | { type: "closed"; error?: BrokerError };

/**
 * Dispatched as `"status"` on a {@link Subscription} or {@link LiveTail} whenever its
 * connection status changes.
 *
 * @example
 * tail.addEventListener("status", (event) => render((event as StatusEvent).status.type));
 */
export class StatusEvent extends Event {
  readonly status: ConnectionStatus;

  constructor(status: ConnectionStatus) {
    super("status");
    this.status = status;
  }
}

/**
 * Dispatched as `"error"` for a failure that does not end the connection: an `error`
 * frame from the broker, or an `onMessage` callback that threw.
 *
 * @example
 * subscription.addEventListener("error", (event) => console.error((event as BrokerErrorEvent).error));
 */
export class BrokerErrorEvent extends Event {
  readonly error: unknown;

  constructor(error: unknown) {
    super("error");
    this.error = error;
  }
}
