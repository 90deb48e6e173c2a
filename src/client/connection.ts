import { type ClientFrame, PING_FRAME, type ServerFrame } from "../protocol/ws-frames.js";
import { BrokerError } from "./errors.js";
import { type Clock, lossError, type ReconnectOptions, Reconnector, SYSTEM_CLOCK } from "./reconnect.js";
import { type ConnectionStatus, StatusEvent } from "./status.js";

/** What the owner of a connection (the session every subscription shares) decides. */
export interface ConnectionHooks {
  /** Where to connect; asked before every attempt (fresh token, current resume position). */
  target(): Promise<{ url: string; protocols: string[] }>;
  /** The connection is open: send what must go first (credit, unconfirmed acks). */
  opened(): void;
  /** Every frame after `hello`. */
  frame(frame: ServerFrame): void;
  /** A socket was lost (a retry may follow): drop what belonged to it. */
  lost(): void;
  /** A handshake failed without saying why: find out, if possible (see `Transport.probe`). */
  probe(): Promise<BrokerError | undefined>;
  /** The connection ended for good: `close()` (no error) or a failure retrying cannot fix. */
  ended(error: BrokerError | undefined): void;
}

/** Options shared by everything that holds a connection. */
export interface ConnectionOptions {
  /** Retry policy, or `false` to end at the first lost socket. */
  reconnect?: ReconnectOptions | false;
  /** Send a ping after this long without a frame, and drop a socket silent for twice as long, ms (default 30,000). */
  pingInterval?: number;
  /** Give up on a socket that has not said `hello` after this long, ms (default 15,000). */
  helloTimeout?: number;
  /** The WebSocket class (default: the global one). */
  WebSocket?: typeof WebSocket;
  clock?: Clock;
  random?: () => number;
}

/**
 * One logical connection over a succession of WebSockets: it opens a socket, waits
 * for `hello`, keeps it alive, and when it is lost asks its {@link Reconnector} whether
 * and when to open the next. Everything it knows about the protocol beyond that lives
 * in its hooks, so this class stays the thin part bound to the WebSocket API.
 */
export class Connection {
  readonly #hooks: ConnectionHooks;
  readonly #events: EventTarget;
  readonly #reconnector: Reconnector | undefined;
  readonly #clock: Clock;
  readonly #WebSocket: typeof WebSocket;
  readonly #pingInterval: number;
  readonly #helloTimeout: number;
  #status: ConnectionStatus = { type: "connecting", attempt: 0 };
  #socket: WebSocket | undefined;
  /** Bumped for every socket so events of an abandoned one are ignored. */
  #generation = 0;
  #timer: unknown;
  #lastFrameAt = 0;
  #pingOutstanding = false;

  constructor(
    hooks: ConnectionHooks,
    events: EventTarget,
    options: ConnectionOptions & { canRefreshToken: boolean },
  ) {
    this.#hooks = hooks;
    this.#events = events;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#reconnector =
      options.reconnect === false
        ? undefined
        : new Reconnector(
            { ...options.reconnect, canRefreshToken: options.canRefreshToken },
            this.#clock,
            options.random,
          );
    const WebSocketClass = options.WebSocket ?? globalThis.WebSocket;
    if (WebSocketClass === undefined)
      throw new TypeError("no WebSocket class: pass one as the WebSocket option");
    this.#WebSocket = WebSocketClass;
    this.#pingInterval = options.pingInterval ?? 30_000;
    this.#helloTimeout = options.helloTimeout ?? 15_000;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  start(): void {
    void this.#connect();
  }

  /** Sends a frame if a socket is open; returns whether it was sent. */
  send(frame: ClientFrame): boolean {
    const socket = this.#socket;
    if (this.#status.type !== "open" || socket === undefined || socket.readyState !== 1) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  /** Closes for good (1000). Idempotent. */
  close(): void {
    if (this.#status.type === "closed") return;
    this.#drop(1000, "client closed");
    this.#finish(undefined);
  }

  async #connect(): Promise<void> {
    if (this.#status.type === "closed") return;
    this.#setStatus({ type: "connecting", attempt: this.#reconnector?.attempt ?? 0 });
    const generation = ++this.#generation;
    let socket: WebSocket;
    try {
      const target = await this.#hooks.target();
      if (generation !== this.#generation) return;
      socket = new this.#WebSocket(target.url, target.protocols);
    } catch (error) {
      if (generation === this.#generation) this.#lost(undefined, error);
      return;
    }
    this.#socket = socket;
    socket.addEventListener("message", (event) => {
      if (generation === this.#generation) this.#receive(event.data);
    });
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
    });
    const failed = (close: { code: number; reason: string }) => {
      // The handshake failed: the broker may have refused it with an HTTP status we cannot see.
      this.#generation++;
      this.#clearTimer();
      this.#hooks.probe().then(
        (refusal) => this.#lost(refusal === undefined ? close : undefined, refusal),
        () => this.#lost(close),
      );
    };
    socket.addEventListener("close", (event) => {
      if (generation !== this.#generation) return;
      const close = { code: event.code, reason: event.reason };
      if (opened) this.#lost(close);
      else failed(close);
    });
    // After `open`, an `error` is followed by `close`, which says more. Before it, some
    // runtimes (Node's undici) report a refused handshake with `error` alone.
    socket.addEventListener("error", () => {
      if (generation === this.#generation && !opened) failed({ code: 1006, reason: "" });
    });
    this.#schedule(this.#helloTimeout, () => {
      this.#drop(1000, "no hello");
      this.#lost(
        undefined,
        new BrokerError("network", `no hello from the broker within ${this.#helloTimeout} ms`),
      );
    });
  }

  #receive(data: unknown): void {
    if (typeof data !== "string") return;
    this.#lastFrameAt = this.#clock.now();
    this.#pingOutstanding = false;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return;
    }
    if (typeof frame !== "object" || frame === null || typeof frame.type !== "string") return;
    if (this.#status.type === "open") {
      if (frame.type !== "pong") this.#hooks.frame(frame);
      return;
    }
    if (frame.type === "error") {
      // A refusal at connect (unknown subscription, refused token): the broker closes right
      // after, but that close can take many seconds to reach us, and the frame says it all.
      this.#drop(1000, "refused");
      this.#lost(undefined, new BrokerError(frame.code, frame.message));
      return;
    }
    if (frame.type !== "hello") return;
    this.#reconnector?.opened();
    this.#setStatus({ type: "open", session: frame.session, epoch: frame.epoch ?? null });
    this.#schedulePing();
    this.#hooks.opened();
  }

  #schedulePing(): void {
    this.#schedule(this.#pingInterval, () => {
      const idle = this.#clock.now() - this.#lastFrameAt >= this.#pingInterval;
      if (idle && this.#pingOutstanding) {
        this.#drop(1000, "no pong");
        this.#lost(
          undefined,
          new BrokerError("network", `the broker did not answer a ping within ${this.#pingInterval} ms`),
        );
        return;
      }
      if (idle) {
        this.#pingOutstanding = true;
        this.#socket?.send(PING_FRAME);
      }
      this.#schedulePing();
    });
  }

  /** A socket was lost (or abandoned): retry or end, as the reconnector decides. */
  #lost(close: { code: number; reason: string } | undefined, cause?: unknown): void {
    if (this.#status.type === "closed") return;
    this.#generation++;
    this.#socket = undefined;
    this.#clearTimer();
    this.#hooks.lost();
    const decision = this.#reconnector?.lost(close, cause) ?? {
      retry: false,
      error: lossError(close, cause),
    };
    if (!decision.retry) {
      this.#finish(decision.error);
      return;
    }
    this.#setStatus({
      type: "reconnecting",
      attempt: this.#reconnector?.attempt ?? 0,
      delay: decision.delay,
      error: decision.error,
    });
    this.#schedule(decision.delay, () => void this.#connect());
  }

  /** Closes the current socket, if any, and ignores whatever it says afterwards. */
  #drop(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#generation++;
    this.#clearTimer();
    try {
      socket?.close(code, reason);
    } catch {
      // Closing a socket that is already closing throws in some runtimes; it is gone either way.
    }
  }

  #finish(error: BrokerError | undefined): void {
    this.#clearTimer();
    this.#setStatus(error === undefined ? { type: "closed" } : { type: "closed", error });
    this.#hooks.ended(error);
  }

  #setStatus(status: ConnectionStatus): void {
    this.#status = status;
    this.#events.dispatchEvent(new StatusEvent(status));
  }

  #schedule(ms: number, callback: () => void): void {
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(callback, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
