import type { SubscribedFrame } from "../protocol/session-frames.js";
import type { ClientFrame, HelloFrame, ServerFrame } from "../protocol/ws-frames.js";
import { Connection, type ConnectionOptions } from "./connection.js";
import { BrokerError } from "./errors.js";
import { type ConnectionStatus, StatusEvent } from "./status.js";
import type { Transport } from "./transport.js";

/** What a subscription asks of the session: what to subscribe to, from where. */
export interface Subscribing {
  topic: string;
  subscription?: string;
  after?: number | undefined;
  epoch?: string | undefined;
  maxInFlight?: number;
}

/** What the owner of a subscription on a session (a live tail, a consumer) decides. */
export interface ChannelHooks {
  /** What to subscribe to; asked before every (re)subscribe, so it carries the resume position. */
  subscribing(): Promise<Subscribing>;
  /** The broker said `subscribed` (again, with the epoch, when a tail waited for its topic). */
  hello(frame: HelloFrame): BrokerError | undefined;
  /** Subscribed: send what must go first (credit, unconfirmed acks). */
  opened(): void;
  /** Messages, and answers to the owner's frames. */
  frame(frame: ServerFrame): void;
  /** The session's socket was lost: drop what belonged to it. */
  lost(): void;
  /** The subscription ended for good. */
  ended(error: BrokerError | undefined): void;
}

/** One subscription on the shared connection, as its owner sees it: a connection of its own. */
export interface Channel {
  readonly status: ConnectionStatus;
  /** Resolves when the subscription has ended: with the error that ended it, or `undefined`. */
  readonly closed: Promise<BrokerError | undefined>;
  send(frame: ClientFrame): boolean;
  close(): void;
}

interface Entry {
  id: string;
  end: (error: BrokerError | undefined) => void;
  hooks: ChannelHooks;
  events: EventTarget;
  status: ConnectionStatus;
  topic?: string;
  subscription?: string | undefined;
}

/**
 * Every live tail and consumer of one {@link Broker} on one WebSocket (`GET /v1/ws`): each is a
 * subscription with an `id`, refused or ended alone; after a reconnect each subscribes again from
 * where it stood. The socket opens with the first subscription and closes with the last.
 */
export class Session {
  readonly #transport: Transport;
  readonly #options: ConnectionOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #events = new EventTarget();
  #connection: Connection | undefined;
  #next = 1;

  constructor(transport: Transport, options: ConnectionOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#events.addEventListener("status", (event) => this.#status((event as StatusEvent).status));
  }

  /**
   * Adds a subscription; `events` receives its status. `options.signal` aborted calls `abort`
   * (the owner's `close`).
   */
  open(
    hooks: ChannelHooks,
    events: EventTarget,
    options: ConnectionOptions & { signal?: AbortSignal | undefined },
    abort: () => void,
  ): Channel {
    const id = String(this.#next++);
    let end!: Entry["end"];
    const closed = new Promise<BrokerError | undefined>((resolve) => {
      end = resolve;
    });
    const entry = { id, end, hooks, events, status: { type: "connecting", attempt: 0 } } as Entry;
    options.signal?.addEventListener("abort", abort, { once: true });
    if (options.signal?.aborted) queueMicrotask(abort);
    this.#entries.set(id, entry);
    const connection = this.#connect(options);
    if (connection.status.type === "open") void this.#subscribe(entry);
    const send = (frame: ClientFrame): boolean => {
      if (entry.status.type !== "open") return false;
      // A consumer's frames (credit, settlements) name its subscription; their ids, the channel.
      const named = { ...frame, topic: entry.topic, subscription: entry.subscription };
      return connection.send(
        (frame.id === undefined ? named : { ...named, id: `${id}/${frame.id}` }) as ClientFrame,
      );
    };
    return {
      get status() {
        return entry.status;
      },
      closed,
      send,
      close: () => this.#close(entry, undefined, true),
    };
  }

  #connect(options: ConnectionOptions): Connection {
    if (this.#connection && this.#connection.status.type !== "closed") return this.#connection;
    const connection = new Connection(
      {
        target: () => this.#transport.socket(["v1", "ws"]),
        opened: () => {
          for (const entry of this.#entries.values()) void this.#subscribe(entry);
        },
        frame: (frame) => this.#frame(frame),
        lost: () => {
          for (const entry of this.#entries.values()) entry.hooks.lost();
        },
        probe: () => this.#transport.probe(["v1", "ws"]),
        ended: (error) => {
          for (const entry of [...this.#entries.values()]) this.#close(entry, error, false);
        },
      },
      this.#events,
      { ...options, ...this.#options, canRefreshToken: this.#transport.canRefreshToken },
    );
    this.#connection = connection;
    connection.start();
    return connection;
  }

  async #subscribe(entry: Entry): Promise<void> {
    let subscribing: Subscribing;
    try {
      subscribing = await entry.hooks.subscribing();
    } catch (error) {
      // A subscription that could not be created (its PUT refused): transport errors are BrokerErrors.
      return this.#close(entry, error as BrokerError, false);
    }
    if (!this.#entries.has(entry.id)) return;
    entry.topic = subscribing.topic;
    entry.subscription = subscribing.subscription;
    this.#connection?.send({ type: "subscribe", id: entry.id, ...subscribing } as unknown as ClientFrame);
  }

  #frame(frame: ServerFrame | SubscribedFrame): void {
    const id = "id" in frame ? frame.id : undefined;
    if (id === undefined) return;
    const slash = id.indexOf("/");
    const entry = this.#entries.get(slash < 0 ? id : id.slice(0, slash));
    if (!entry) return;
    if (slash >= 0) {
      // An answer to one of the subscription's own frames (an ack, a flow): its id as it sent it.
      entry.hooks.frame({ ...frame, id: id.slice(slash + 1) } as ServerFrame);
      return;
    }
    switch (frame.type) {
      case "subscribed": {
        const status = this.#connection?.status;
        const session = status?.type === "open" ? status.session : "";
        const epoch = frame.epoch ?? null;
        // `subscribed` says for one subscription what `hello` says for a socket of its own.
        const refused = entry.hooks.hello(frame as unknown as HelloFrame);
        if (refused !== undefined) {
          this.#close(entry, refused, true);
          return;
        }
        const first = entry.status.type !== "open";
        this.#set(entry, { type: "open", session, epoch });
        if (first) entry.hooks.opened();
        return;
      }
      case "messages":
        entry.hooks.frame(frame);
        return;
      case "error":
        // { closeCode: undefined } reads as no close code: BrokerError keeps it as it is.
        this.#close(
          entry,
          new BrokerError(frame.code, frame.message, { closeCode: frame.closeCode as number }),
          false,
        );
    }
  }

  /** The shared connection changed: every subscription not yet ended sees it. */
  #status(status: ConnectionStatus): void {
    if (status.type !== "connecting" && status.type !== "reconnecting") return;
    for (const entry of this.#entries.values()) this.#set(entry, status);
  }

  #set(entry: Entry, status: ConnectionStatus): void {
    entry.status = status;
    entry.events.dispatchEvent(new StatusEvent(status));
  }

  #close(entry: Entry, error: BrokerError | undefined, unsubscribe: boolean): void {
    if (!this.#entries.delete(entry.id)) return;
    if (unsubscribe && entry.status.type === "open") {
      this.#connection?.send({ type: "unsubscribe", id: entry.id } as unknown as ClientFrame);
    }
    this.#set(entry, error === undefined ? { type: "closed" } : { type: "closed", error });
    entry.hooks.ended(error);
    entry.end(error);
    if (this.#entries.size === 0) this.#connection?.close();
  }
}
