import type { WireMessage } from "../protocol/message.js";
import type { ServerFrame } from "../protocol/ws-frames.js";
import type { ConnectionOptions } from "./connection.js";
import type { BrokerError } from "./errors.js";
import { Message, type Replier } from "./message.js";
import { Queue } from "./queue.js";
import { replyVia } from "./replies.js";
import type { Channel, Session } from "./session.js";
import type { ConnectionStatus } from "./status.js";
import { TailState } from "./tail-state.js";
import type { Transport } from "./transport.js";

/** Options of {@link Broker.live}. */
export interface LiveOptions extends ConnectionOptions {
  /** Start after this seq (replaying the retained backlog); omitted = only new messages. */
  after?: number;
  /** The epoch that `after` belongs to (from an earlier tail); a re-created topic then ends the tail. */
  epoch?: string;
  /** Closes the tail when aborted. */
  signal?: AbortSignal;
}

/**
 * A live tail of a topic: every message from a position on, without acks. It shares its
 * {@link Broker}'s one connection with every other live tail and consumer, reconnects on its own and resumes after the last seq it delivered, so across drops
 * it neither skips nor repeats a retained message. If the topic is deleted and
 * re-created meanwhile, the iteration throws a {@link BrokerError} with code `conflict`
 * (close code 4002) rather than continuing silently in a different log.
 *
 * Keep `position` and `epoch` to resume a later tail where this one stopped.
 *
 * @example
 * const tail = broker.live("chat.room-1", { after: lastSeen });
 * for await (const message of tail) {
 *   render(message.json());
 *   lastSeen = message.seq;
 * }
 */
export class LiveTail extends EventTarget implements AsyncIterable<Message> {
  readonly topic: string;
  /** Resolves when the tail has ended: with the error that ended it, or `undefined` after `close()`. */
  readonly closed: Promise<BrokerError | undefined>;
  readonly #state: TailState;
  readonly #connection: Channel;
  readonly #queue: Queue<Message>;

  readonly #replier: Replier;

  constructor(transport: Transport, session: Session, topic: string, options: LiveOptions = {}) {
    super();
    this.topic = topic;
    this.#state = new TailState(options);
    this.#queue = new Queue(() => this.close());
    this.#replier = replyVia(transport);
    this.#connection = session.open(
      {
        subscribing: async () => ({ topic, ...this.#state.query() }),
        hello: (frame) => this.#state.hello(frame),
        opened: () => {},
        frame: (frame) => this.#frame(frame),
        lost: () => {},
        ended: (error) => this.#queue.end(error),
      },
      this,
      options,
      () => this.close(),
    );
    this.closed = this.#connection.closed;
  }

  get status(): ConnectionStatus {
    return this.#connection.status;
  }

  /** The last seq received; pass it as `after` to resume. */
  get position(): number | undefined {
    return this.#state.position;
  }

  /** The topic's epoch, once connected; pass it as `epoch` with `after`. */
  get epoch(): string | undefined {
    return this.#state.epoch;
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this.#queue;
  }

  /** Stops the tail; messages already received can still be read from the iterator. */
  close(): void {
    this.#connection.close();
  }

  #frame(frame: ServerFrame): void {
    // The session hands a tail only its messages: its refusal or end ends the tail itself.
    if (frame.type === "messages") for (const wire of frame.messages) this.#receive(wire);
  }

  #receive(wire: WireMessage): void {
    if (this.#state.accept(wire)) this.#queue.push(new Message(wire, this.#replier));
  }
}
