import type { FilterPattern } from "../protocol/filter-pattern.js";
import type { WireMessage } from "../protocol/message.js";
import type { ClientFrame, Duration, ServerFrame } from "../protocol/ws-frames.js";
import type { ConnectionOptions } from "./connection.js";
import { ConsumerState } from "./consumer-state.js";
import { BrokerError } from "./errors.js";
import { ReceivedMessage, type Replier, type Settler } from "./message.js";
import { Queue } from "./queue.js";
import { replyVia } from "./replies.js";
import type { Channel, Session } from "./session.js";
import { BrokerErrorEvent, type ConnectionStatus } from "./status.js";
import type { Transport } from "./transport.js";

/**
 * A subscription's config as `PUT …/subscriptions/{sub}` takes it (DESIGN.md §4); every
 * field is optional and durations are ms or strings like `"30s"`.
 */
export interface SubscriptionSettings {
  /** Where a new subscription starts; ignored when it already exists (use seek). */
  startAt?: "earliest" | "latest" | { seq: number } | { time: number };
  ackTimeout?: Duration;
  /** Deliveries before a message is dead-lettered; `null` = retry forever. */
  maxAttempts?: number | null;
  backoff?: { min: Duration; max: Duration };
  deadLetterTopic?: string | null;
  /** Only messages this pattern matches are delivered (see the README's "Filters"). */
  filter?: FilterPattern | null;
  /** At most one message in flight per ordering key. */
  ordered?: boolean;
}

/** Options of {@link Broker.subscribe}. */
export interface SubscribeOptions extends ConnectionOptions {
  /** Most messages held by this consumer and not yet acked or nacked (default 100, at most 1,000). */
  maxInFlight?: number;
  /**
   * Receive this many messages, then end the iteration (close the subscription after settling
   * them). The broker is never asked for more, so no message is leased only to be given back.
   */
  limit?: number;
  /** Create (or update) the subscription with this config before connecting. */
  create?: SubscriptionSettings;
  /**
   * Receive messages through this callback instead of iterating. It may return a
   * promise; a throw or rejection nacks the message (if still unsettled) and is
   * dispatched as an `"error"` event.
   */
  onMessage?: (message: ReceivedMessage) => unknown;
  /** Closes the subscription when aborted. */
  signal?: AbortSignal;
  /** How long `close()` waits for the broker to confirm pending acks, ms (default 5,000). */
  closeTimeout?: number;
}

/**
 * A consumer of a subscription over its {@link Broker}'s one WebSocket, kept connected across drops. Iterate
 * it with `for await`, or pass `onMessage`. Every message must be settled (`ack()`,
 * `nack()`); at most `maxInFlight` are held at once.
 *
 * Events: `"status"` ({@link StatusEvent}) on every connection change, `"error"`
 * ({@link BrokerErrorEvent}) for failures that do not end it. When it ends on a failure
 * (deleted subscription, refused token …) the iteration throws that {@link BrokerError}
 * and `closed` resolves with it.
 *
 * @example
 * const subscription = broker.subscribe("orders", "billing", { maxInFlight: 20, create: { ackTimeout: "30s" } });
 * for await (const message of subscription) {
 *   await bill(message.json());
 *   message.ack();
 * }
 */
export class Subscription extends EventTarget implements AsyncIterable<ReceivedMessage> {
  readonly topic: string;
  readonly name: string;
  /** Resolves when the subscription has ended: with the error that ended it, or `undefined` after `close()`. */
  readonly closed: Promise<BrokerError | undefined>;
  readonly #state: ConsumerState;
  readonly #connection: Channel;
  readonly #queue: Queue<ReceivedMessage>;
  readonly #onMessage: SubscribeOptions["onMessage"];
  readonly #closeTimeout: number;
  readonly #settler: Settler;
  readonly #replier: Replier;
  #sendScheduled = false;
  #closing: Promise<void> | undefined;
  #created: boolean;
  #settledWaiters: (() => void)[] = [];

  constructor(
    transport: Transport,
    session: Session,
    topic: string,
    name: string,
    options: SubscribeOptions = {},
  ) {
    super();
    this.topic = topic;
    this.name = name;
    this.#state = new ConsumerState(Math.min(options.maxInFlight ?? 100, 1_000), options.limit);
    this.#onMessage = options.onMessage;
    this.#closeTimeout = options.closeTimeout ?? 5_000;
    this.#queue = new Queue(() => void this.close());
    this.#replier = replyVia(transport);
    this.#created = options.create === undefined;
    this.#settler = {
      ack: (seq) => this.#settle(seq, { kind: "ack" }),
      nack: (seq, delay) => this.#settle(seq, { kind: "nack", delay }),
      extend: (seq, ackTimeout) => this.#settle(seq, { kind: "extend", ackTimeout }),
    };
    const path = ["v1", "topics", topic, "subscriptions", name];
    this.#connection = session.open(
      {
        subscribing: async () => {
          if (!this.#created) {
            await transport.request("PUT", path, { json: options.create });
            this.#created = true;
          }
          return { topic, subscription: name, maxInFlight: this.#state.nextCredit };
        },
        hello: () => undefined,
        opened: () => this.#sendAll(this.#state.connected()),
        frame: (frame) => this.#frame(frame),
        lost: () => {
          const released = this.#queue.drain();
          this.#state.forget(released.map((message) => message.seq));
          // The broker takes back what the application never got: the limit is not reached yet.
          if (released.length > 0 && this.#closing === undefined) this.#queue.reopen();
        },
        ended: (error) => this.#ended(error),
      },
      this,
      options,
      () => void this.close(),
    );
    this.closed = this.#connection.closed;
  }

  get status(): ConnectionStatus {
    return this.#connection.status;
  }

  /** Messages held (delivered, not yet acked or nacked). */
  get held(): number {
    return this.#state.held;
  }

  [Symbol.asyncIterator](): AsyncIterator<ReceivedMessage> {
    if (this.#onMessage !== undefined)
      throw new TypeError("this subscription delivers to onMessage; it cannot be iterated");
    return this.#queue;
  }

  /** Resolves once every ack, nack and extend made so far has been confirmed by the broker. */
  flush(): Promise<void> {
    this.#sendOutgoing();
    if (this.#state.settledWithBroker) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  /**
   * Stops receiving: pending acks are flushed (waiting up to `closeTimeout`), then the
   * socket closes, which makes the broker release every unsettled message delivered on it
   * for redelivery (those received but not yet handed out, and those still in your hands).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#queue.end();
    // Received but never handed out: closing the socket releases them for redelivery.
    this.#state.forget(this.#queue.drain().map((message) => message.seq));
    if (this.#connection.status.type === "open" && !this.#state.settledWithBroker) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#closeTimeout);
      });
      await Promise.race([this.flush(), timeout, this.closed]);
      clearTimeout(timer);
    }
    this.#connection.close();
  }

  #settle(seq: number, settlement: Parameters<ConsumerState["settle"]>[1]): void {
    this.#state.settle(seq, settlement);
    // Settlements made in one turn of the event loop travel together in one frame each kind.
    if (this.#sendScheduled) return;
    this.#sendScheduled = true;
    queueMicrotask(() => {
      this.#sendScheduled = false;
      this.#sendOutgoing();
    });
  }

  #sendOutgoing(): void {
    if (this.#connection.status.type === "open") this.#sendAll(this.#state.outgoing());
  }

  #sendAll(frames: ClientFrame[]): void {
    for (const frame of frames) this.#connection.send(frame);
  }

  #frame(frame: ServerFrame): void {
    switch (frame.type) {
      case "messages":
        for (const message of frame.messages) this.#deliver(message);
        break;
      case "ok":
        this.#state.confirmed(frame.id);
        this.#checkSettled();
        break;
      case "error": {
        const refused = frame.id === undefined ? undefined : this.#state.refused(frame.id);
        const what = refused === undefined ? "" : ` (${refused.type} of seqs ${refused.seqs.join(", ")})`;
        this.dispatchEvent(new BrokerErrorEvent(new BrokerError(frame.code, `${frame.message}${what}`)));
        this.#checkSettled();
        break;
      }
    }
  }

  #deliver(wire: WireMessage): void {
    // Arriving while closing: the close releases it for redelivery.
    if (this.#closing !== undefined) return;
    const status = this.#connection.status;
    if (!this.#state.delivered(wire.seq, status.type === "open" ? (status.epoch ?? undefined) : undefined))
      return;
    const message = new ReceivedMessage(wire, this.#settler, this.#replier);
    const onMessage = this.#onMessage;
    if (onMessage === undefined) {
      this.#queue.push(message);
      if (this.#state.exhausted) this.#queue.end();
      return;
    }
    Promise.resolve()
      .then(() => onMessage(message))
      .catch((error: unknown) => {
        message.nack();
        this.dispatchEvent(new BrokerErrorEvent(error));
      });
  }

  /** Lets waiting flushes go once everything is confirmed, or at once when `ended`. */
  #checkSettled(ended = false): void {
    if (!ended && !this.#state.settledWithBroker) return;
    const waiters = this.#settledWaiters;
    this.#settledWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #ended(error: BrokerError | undefined): void {
    this.#queue.end(error);
    // Nobody will confirm anything any more.
    this.#checkSettled(true);
  }
}
