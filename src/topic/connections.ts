import { fail, type Result } from "../protocol/errors";
import { CLOSE_CODES, DEFAULT_MAX_IN_FLIGHT } from "../protocol/ws-frames";
import { VERSION } from "../version";
import type { Delivery } from "./delivery";
import { type FrameTarget, handleFrame } from "./frames";
import type { Log } from "./log";
import { feedTails, pushToConsumers } from "./push";
import { close, type SocketState, Sockets } from "./sockets";
import type { Subscription, Subscriptions } from "./subscriptions";
import type { PublishInput, PublishReceipt } from "./types";
import { readUpgrade } from "./upgrade";

/** What the topic lends its sockets. */
export interface ConnectionHost {
  ctx: DurableObjectState;
  /** The topic's transaction, which rebuilds its caches if it fails. */
  transaction<T>(fn: () => T): T;
  /** Most sockets this topic holds open. */
  maxSockets: number;
  log: Log;
  subscriptions: Subscriptions;
  delivery: Delivery;
  /** Publishes one message through the topic's group commit. */
  publish(message: PublishInput): Promise<Result<PublishReceipt[]>>;
  /** Runs a change on a subscription in a transaction, then lets the topic react. */
  settle<T>(name: string, change: (subscription: Subscription) => T): Result<T>;
  /** Tells the topic its delivery state changed (re-arm the alarm, wake long-polls). */
  changed(): void;
}

/**
 * The topic's WebSockets (DESIGN.md §5): accepting upgrades, frames, pushing
 * to consumers and tails, and cleaning up after sockets that go away.
 */
export class Connections {
  readonly sockets: Sockets;
  readonly #host: ConnectionHost;
  /** Rotates which consumer is served first, so no socket is always last. */
  #rotate = 0;
  #feeding = false;
  /** The earliest token expiry among open sockets; `undefined` until worked out. */
  #earliestExpiry: number | null | undefined = undefined;

  constructor(host: ConnectionHost) {
    this.#host = host;
    this.sockets = new Sockets(host.ctx);
  }

  /** Accepts an upgrade handed over by the worker (see ./upgrade.ts). */
  open(request: Request): Response {
    const { log, subscriptions } = this.#host;
    const options = readUpgrade(new URL(request.url));
    const full = this.sockets.count >= this.#host.maxSockets;
    const meta = log.meta;
    const state: SocketState = {
      v: 1,
      kind: options.subscription === undefined ? "tail" : "consumer",
      session: crypto.randomUUID(),
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      lastSent: options.after ?? (meta ? log.counters.nextSeq - 1 : 0),
      canPublish: options.canPublish,
      expiresAt: options.expiresAt ?? null,
    };
    if (options.subscription !== undefined) state.subscription = options.subscription;
    const { response, socket } = this.sockets.accept(request, state);
    if (state.expiresAt !== null && this.#earliestExpiry !== undefined) {
      this.#earliestExpiry =
        this.#earliestExpiry === null ? state.expiresAt : Math.min(this.#earliestExpiry, state.expiresAt);
    }
    // Refusals travel on the accepted socket: a browser cannot read the status of a refused upgrade.
    if (full) {
      const detail = `a topic holds at most ${this.#host.maxSockets} sockets; try again later`;
      this.sockets.refuse(socket, CLOSE_CODES.TRY_AGAIN_LATER, "rate_limited", detail);
      return response;
    }
    if (!meta) {
      this.sockets.refuse(
        socket,
        CLOSE_CODES.NOT_FOUND,
        "not_found",
        `topic ${options.topic} does not exist`,
      );
      return response;
    }
    if (options.subscription !== undefined && !subscriptions.get(options.subscription)) {
      const detail = `subscription ${options.subscription} does not exist`;
      this.sockets.refuse(socket, CLOSE_CODES.NOT_FOUND, "not_found", detail);
      return response;
    }
    this.sockets.send(socket, {
      type: "hello",
      topic: meta.name,
      ...(options.subscription === undefined
        ? { after: state.lastSent }
        : { subscription: options.subscription }),
      epoch: meta.epoch,
      session: state.session,
      version: VERSION,
    });
    if (options.epoch !== undefined && options.epoch !== meta.epoch) {
      const detail = "the topic was deleted and re-created; positions in the old epoch mean nothing here";
      this.sockets.refuse(socket, CLOSE_CODES.EPOCH_CHANGED, "conflict", detail);
      return response;
    }
    this.pump();
    return response;
  }

  async message(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const state = this.sockets.state(ws);
    if (!state) return close(ws, CLOSE_CODES.INTERNAL, "internal: unreadable socket state");
    if (state.expiresAt !== null && state.expiresAt <= Date.now()) {
      return this.sockets.refuse(ws, CLOSE_CODES.POLICY, "unauthorized", "the token expired");
    }
    await handleFrame(this.#frames, ws, state, data);
  }

  /** A consumer that goes away hands its messages to the others at once. */
  gone(ws: WebSocket): void {
    const state = this.sockets.state(ws);
    this.sockets.forget(ws);
    if (state?.expiresAt === this.#earliestExpiry) this.#earliestExpiry = undefined;
    if (state?.kind !== "consumer") return;
    const { delivery } = this.#host;
    const released = this.#host.transaction(() => delivery.releaseConsumer(state.session));
    if (released) this.#host.changed();
  }

  /** Closes sockets whose token expired (1008). */
  closeExpired(now: number): void {
    for (const ws of this.sockets.all()) {
      const state = this.sockets.state(ws);
      if (state?.expiresAt != null && state.expiresAt <= now) {
        this.sockets.refuse(ws, CLOSE_CODES.POLICY, "unauthorized", "the token expired");
        this.gone(ws);
      }
    }
  }

  /** When the next socket's token expires, for the alarm (worked out again only when it may have moved). */
  nextExpiry(): number | null {
    if (this.#earliestExpiry !== undefined) return this.#earliestExpiry;
    let earliest: number | null = null;
    for (const ws of this.sockets.all()) {
      const expiresAt = this.sockets.state(ws)?.expiresAt ?? null;
      if (expiresAt !== null && (earliest === null || expiresAt < earliest)) earliest = expiresAt;
    }
    this.#earliestExpiry = earliest;
    return earliest;
  }

  consumers(subscription: string): number {
    return this.sockets.consumers(subscription).length;
  }

  closeTopic(): void {
    this.sockets.closeAll(
      this.sockets.all(),
      CLOSE_CODES.TOPIC_DELETED,
      "not_found",
      "the topic was deleted",
    );
  }

  closeSubscription(name: string): void {
    const detail = "the subscription was deleted";
    this.sockets.closeAll(
      this.sockets.consumers(name),
      CLOSE_CODES.SUBSCRIPTION_DELETED,
      "not_found",
      detail,
    );
  }

  /** Pushes what is available to consumer sockets and live tails. */
  pump(): void {
    const { log, subscriptions, delivery } = this.#host;
    if (!log.meta) return;
    const now = Date.now();
    this.#host.transaction(() => {
      for (const subscription of subscriptions.all()) {
        pushToConsumers(subscription, this.sockets, delivery, now, this.#rotate++);
      }
    });
    if (feedTails(this.sockets, log) && !this.#feeding) {
      // A tail far behind catches up a page per turn, leaving room for other work.
      this.#feeding = true;
      setTimeout(() => {
        this.#feeding = false;
        this.pump();
      }, 0);
    }
  }

  readonly #frames: FrameTarget = {
    ack: (name, seqs) => this.#host.settle(name, (s) => this.#host.delivery.ack(s, seqs)),
    nack: (name, seqs, delay) =>
      this.#host.settle(name, (s) => this.#host.delivery.nack(s, seqs, Date.now(), delay)),
    extend: (name, seqs, ackTimeout) =>
      this.#host.settle(name, (s) => this.#host.delivery.extend(s, seqs, Date.now(), ackTimeout)),
    flow: (ws, state, maxInFlight) => {
      state.maxInFlight = maxInFlight;
      this.sockets.save(ws, state);
      this.pump();
    },
    publish: (message) =>
      this.#host.log.meta
        ? this.#host.publish(message)
        : Promise.resolve(fail("not_found", "topic does not exist")),
    send: (ws, frame) => this.sockets.send(ws, frame),
    close: (ws, closeCode, code, detail) => this.sockets.refuse(ws, closeCode, code, detail),
  };
}
