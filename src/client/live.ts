import type { ServerFrame } from "../protocol/ws-frames.js";
import { Connection, type ConnectionOptions } from "./connection.js";
import { BrokerError } from "./errors.js";
import { Message, type Replier } from "./message.js";
import { Queue } from "./queue.js";
import { replyVia } from "./replies.js";
import { BrokerErrorEvent, type ConnectionStatus } from "./status.js";
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
 * A live tail of a topic: every message from a position on, without acks. It
 * reconnects on its own and resumes after the last seq it delivered, so across drops
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
  readonly #connection: Connection;
  readonly #queue: Queue<Message>;
  #end!: (error: BrokerError | undefined) => void;

  readonly #replier: Replier;

  constructor(transport: Transport, topic: string, options: LiveOptions = {}) {
    super();
    this.topic = topic;
    this.#state = new TailState(options);
    this.#queue = new Queue(() => this.close());
    this.#replier = replyVia(transport);
    this.closed = new Promise((resolve) => {
      this.#end = resolve;
    });
    this.#connection = new Connection(
      {
        target: () => transport.socket(["v1", "topics", topic, "ws"], this.#state.query()),
        hello: (frame) => this.#state.hello(frame),
        opened: () => {},
        frame: (frame) => this.#frame(frame),
        probe: () => transport.probe(["v1", "topics", topic, "ws"], this.#state.query()),
        lost: () => {},
        ended: (error) => {
          this.#queue.end(error);
          this.#end(error);
        },
      },
      this,
      { ...options, canRefreshToken: transport.canRefreshToken },
    );
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    if (options.signal?.aborted) queueMicrotask(() => this.close());
    this.#connection.start();
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
    if (frame.type === "message") this.#receive([frame.message]);
    else if (frame.type === "messages") this.#receive(frame.messages);
    else if (frame.type === "error")
      this.dispatchEvent(new BrokerErrorEvent(new BrokerError(frame.code, frame.message)));
  }

  #receive(messages: Parameters<TailState["accept"]>[0][]): void {
    for (const wire of messages)
      if (this.#state.accept(wire)) this.#queue.push(new Message(wire, this.#replier));
  }
}
