import type { Following } from "../protocol/edge-rpc";
import { fail, ok, type Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import type { PublishInput, PublishReceipt } from "../protocol/topic-rpc";
import { CLOSE_CODES, DEFAULT_MAX_IN_FLIGHT } from "../protocol/ws-frames";
import type { Changes } from "./changes";
import type { ConsumerVerbs } from "./consumer-verbs";
import { helloFrame } from "./hello";
import { close, type OpenSockets, type SocketState } from "./open-sockets";
import type { Publishing } from "./publishing";
import type { RelayLimits, Relays } from "./relays";
import { type FrameTarget, handleFrame } from "./socket-frames";
import type { SocketRequests } from "./socket-requests";
import type { TopicStore } from "./store";
import { readUpgrade } from "./upgrade";

/** What bounds the topic's sockets (DESIGN.md §6), those its relays hold included. */
export interface SocketLimits {
  /** Most sockets opened with tokens (or without auth) on the topic. */
  perTopic: number;
  /** More sockets the admin key may open once the others reach `perTopic`. */
  adminHeadroom: number;
  /** Most sockets one subject (token subject or client address) holds on the topic. */
  perSubject: number;
  /** When new live tails go to relays, and how many relays there may be. */
  relays: RelayLimits;
  /** Counts a publish against the subject's publish budget; false when it is spent. */
  allowPublish(subject: string): Promise<boolean>;
}

/** A deployment's override of a limit (a wrangler var), when it is a positive integer. */
export const positiveInt = (value: string | undefined): number | undefined => {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

/** The socket limits of a deployment: LIMITS, with the overrides its vars set. */
export function socketLimits(env: Env): SocketLimits {
  return {
    perTopic: positiveInt(env.MAX_SOCKETS_PER_TOPIC) ?? LIMITS.connectionsPerTopic,
    adminHeadroom: LIMITS.adminSocketHeadroom,
    perSubject: positiveInt(env.MAX_SOCKETS_PER_SUBJECT) ?? LIMITS.socketsPerSubject,
    relays: {
      perRelay: positiveInt(env.MAX_SOCKETS_PER_RELAY) ?? LIMITS.socketsPerRelay,
      maxRelays: positiveInt(env.MAX_RELAYS_PER_TOPIC) ?? LIMITS.relaysPerTopic,
    },
    allowPublish: async (subject) => {
      const limiter = env.PUBLISH_RATE_LIMIT as RateLimit | undefined;
      if (!limiter) return true; // a deployment without the binding has no publish limit
      try {
        return (await limiter.limit({ key: subject })).success;
      } catch {
        return true; // an outage of the counter must not become an outage of the broker
      }
    },
  };
}

/**
 * The topic's WebSocket endpoint (DESIGN.md §5): accepts the upgrades the worker hands over,
 * answers the frames clients send, and cleans up after sockets that close or whose token
 * expires. Delivery to the sockets is ./push.ts's.
 *
 * (A little over 300 lines: every kind of socket the topic accepts — its own, a relay's, a
 * session's — is admitted here against the same caps, so they cannot drift apart.)
 */
export class SocketEndpoint {
  readonly #sockets: OpenSockets;
  readonly #store: TopicStore;
  readonly #verbs: ConsumerVerbs;
  readonly #publishing: Publishing;
  readonly #changes: Changes;
  readonly #limits: SocketLimits;
  readonly #relays: Relays;
  readonly #requests: SocketRequests;

  constructor(deps: {
    sockets: OpenSockets;
    store: TopicStore;
    verbs: ConsumerVerbs;
    publishing: Publishing;
    changes: Changes;
    limits: SocketLimits;
    relays: Relays;
    requests: SocketRequests;
  }) {
    this.#sockets = deps.sockets;
    this.#store = deps.store;
    this.#verbs = deps.verbs;
    this.#publishing = deps.publishing;
    this.#changes = deps.changes;
    this.#limits = deps.limits;
    this.#relays = deps.relays;
    this.#requests = deps.requests;
  }

  /**
   * Accepts an upgrade handed over by the worker (see ./upgrade.ts). Refusals travel on the
   * accepted socket: a browser cannot read the status of a refused upgrade.
   */
  async open(request: Request): Promise<Response> {
    const { log, subscriptions, relays } = this.#store;
    const options = readUpgrade(new URL(request.url));
    const full = this.#full(options.privileged === true);
    const { perSubject } = this.#limits;
    const held = (subject: string) => this.#sockets.heldBy(subject) + relays.heldBy(subject);
    const crowded = options.subject !== undefined && held(options.subject) >= perSubject;
    const meta = log.meta;
    const tail = options.subscription === undefined;
    const resumable = options.epoch === undefined || options.epoch === meta?.epoch;
    if (
      tail &&
      meta &&
      resumable &&
      !full &&
      !crowded &&
      this.#sockets.count >= this.#limits.relays.perRelay
    ) {
      // The topic holds as many sockets as one object should: this tail goes to a relay.
      const relay = this.#relays.choose(options.hint);
      const after = options.after ?? log.counters.nextSeq - 1;
      if (relay !== null) return this.#relays.admit(relay, request, options, after);
    }
    const state: SocketState = {
      v: 1,
      kind: options.subscription === undefined ? "tail" : "consumer",
      session: crypto.randomUUID(),
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      // A tail opened before the topic exists starts before its first message.
      lastSent: options.after ?? (meta ? log.counters.nextSeq - 1 : 0),
      canPublish: options.canPublish,
      expiresAt: options.expiresAt ?? null,
    };
    if (options.subscription !== undefined) state.subscription = options.subscription;
    if (options.subject !== undefined) state.subject = options.subject;
    if (options.privileged) state.privileged = true;
    const { response, socket } = this.#sockets.accept(request, state);
    const refuse = (closeCode: number, code: "rate_limited" | "not_found" | "conflict", detail: string) => {
      this.#sockets.refuse(socket, closeCode, code, detail);
      return response;
    };
    if (full) {
      const detail = `a topic holds at most ${this.#limits.perTopic} sockets; try again later`;
      return refuse(CLOSE_CODES.TRY_AGAIN_LATER, "rate_limited", detail);
    }
    if (crowded) {
      const detail = `one client holds at most ${perSubject} sockets on a topic; close one first`;
      return refuse(CLOSE_CODES.TRY_AGAIN_LATER, "rate_limited", detail);
    }
    if (!meta && state.kind === "consumer") {
      return refuse(CLOSE_CODES.NOT_FOUND, "not_found", `topic ${options.topic} does not exist`);
    }
    if (options.subscription !== undefined && !subscriptions.get(options.subscription)) {
      const detail = `subscription ${options.subscription} does not exist`;
      return refuse(CLOSE_CODES.NOT_FOUND, "not_found", detail);
    }
    if (!meta) {
      // Subscribe first: a live tail waits for the topic, costing it no storage (DESIGN.md §5).
      state.waiting = true;
      this.#sockets.save(socket, state);
    }
    this.#sockets.send(socket, helloFrame(options.topic, state, meta?.epoch ?? null));
    if (options.epoch !== undefined && options.epoch !== meta?.epoch) {
      const detail = "the topic was deleted and re-created; positions in the old epoch mean nothing here";
      return refuse(CLOSE_CODES.EPOCH_CHANGED, "conflict", detail);
    }
    // Push what is there, and arm the alarm for the socket's token expiry.
    this.#changes.react("sockets");
    return response;
  }

  /** A frame from a client (./socket-frames.ts); a socket whose token expired is closed instead. */
  async message(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const state = this.#sockets.state(ws);
    if (!state) return close(ws, CLOSE_CODES.INTERNAL, "internal: unreadable socket state");
    if (state.expiresAt !== null && state.expiresAt <= Date.now()) {
      this.#sockets.refuse(ws, CLOSE_CODES.POLICY, "unauthorized", "the token expired");
      return this.closed(ws, state);
    }
    await handleFrame(this.#frames, ws, state, data);
  }

  /** A socket went away; a consumer's messages go to the others at once. */
  closed(ws: WebSocket, state = this.#sockets.state(ws)): void {
    this.#sockets.forget(ws);
    this.#requests.closed(ws);
    if (state?.kind === "consumer") this.#verbs.release(state.session);
  }

  /**
   * Whether a new socket would be one too many. Sockets opened with the admin key may use a
   * headroom above the topic's cap, so tokens filling every slot never lock the operator out.
   */
  #full(privileged: boolean): boolean {
    const { perTopic, adminHeadroom } = this.#limits;
    const { relays } = this.#store;
    const count = this.#sockets.count + relays.sockets;
    const admin = this.#sockets.privileged + relays.privileged;
    return privileged ? count >= perTopic + adminHeadroom : count - admin >= perTopic;
  }

  /** How many sockets are open on the topic, its relays' included. */
  get sockets(): number {
    return this.#sockets.count + this.#store.relays.sockets;
  }

  /** The relays holding live tails of the topic, and their sockets. */
  get relays(): { count: number; sockets: number } {
    return { count: this.#relays.count, sockets: this.#relays.sockets };
  }

  /**
   * A session follows the topic for a live tail: it counts as one socket of its client, within
   * the caps per topic and per client, as a socket of its own would.
   */
  follow(edge: string, subject: string | null, privileged: boolean): Result<Following> {
    if (!this.#relays.follows(edge) && this.#store.meta) {
      const refusal = this.#refusal(subject ?? undefined, privileged);
      if (refusal !== null) return fail("rate_limited", refusal);
    }
    return ok(this.#relays.follow(edge, subject ?? undefined, privileged));
  }

  unfollow(edge: string): void {
    this.#relays.unfollow(edge);
  }

  /** Why one more socket of this client would be one too many, or `null`. */
  #refusal(subject: string | undefined, privileged: boolean): string | null {
    if (this.#full(privileged))
      return `a topic holds at most ${this.#limits.perTopic} sockets; try again later`;
    const held =
      subject === undefined ? 0 : this.#sockets.heldBy(subject) + this.#store.relays.heldBy(subject);
    if (held >= this.#limits.perSubject) {
      return `one client holds at most ${this.#limits.perSubject} sockets on a topic; close one first`;
    }
    return null;
  }

  /** Publishes a message sent on a socket a relay holds, within the client's publish budget. */
  publishFrom(message: PublishInput, subject: string | null): Promise<Result<PublishReceipt[]>> {
    const state = subject === null ? {} : { subject };
    return this.#frames.publish(message, state as SocketState);
  }

  /** A socket a relay held closed. */
  relayLeft(relay: string, subject: string | null, privileged: boolean): void {
    this.#relays.left(relay, subject, privileged);
  }

  /** The topic was deleted: its relays and sessions close their sockets and tails of it (4000). */
  closeRelays(): Promise<void> {
    const sessions = this.#store.meta ? this.#store.remoteConsumers.all().map((c) => c.edge) : [];
    return this.#relays.closeTopic(sessions);
  }

  /** How many consumers a subscription has: its sockets, and its consumers in sessions. */
  consumers(subscription: string): number {
    const remote = this.#store.meta ? this.#store.remoteConsumers.of(subscription).length : 0;
    return this.#sockets.consumers(subscription).length + remote;
  }

  /** Closes sockets whose token expired (1008). */
  closeExpired(now: number): void {
    for (const ws of this.#sockets.all()) {
      const state = this.#sockets.state(ws);
      if (state?.expiresAt != null && state.expiresAt <= now) {
        this.#sockets.refuse(ws, CLOSE_CODES.POLICY, "unauthorized", "the token expired");
        this.closed(ws, state);
      }
    }
  }

  /** The topic was deleted: every socket is told (4000). */
  closeTopic(): void {
    const detail = "the topic was deleted";
    this.#sockets.closeAll(this.#sockets.all(), CLOSE_CODES.TOPIC_DELETED, "not_found", detail);
  }

  /** A subscription was deleted: its consumers are told (4001). */
  closeSubscription(name: string): void {
    const sockets = this.#sockets.consumers(name);
    const detail = "the subscription was deleted";
    this.#sockets.closeAll(sockets, CLOSE_CODES.SUBSCRIPTION_DELETED, "not_found", detail);
  }

  readonly #frames: FrameTarget = {
    ack: (name, input) => this.#verbs.ack(name, input),
    nack: (name, input) => this.#verbs.nack(name, input),
    extend: (name, input) => this.#verbs.extend(name, input),
    flow: (ws, state, maxInFlight) => {
      state.maxInFlight = maxInFlight;
      this.#sockets.save(ws, state);
      this.#changes.react("sockets");
    },
    publish: async (message, state) => {
      if (!this.#store.meta) return fail("not_found", "topic does not exist");
      // Publishing over a socket spends the same budget as over HTTP (DESIGN.md §6).
      if (state.subject !== undefined && !(await this.#limits.allowPublish(state.subject))) {
        return fail("rate_limited", "too many publishes from this client; slow down and retry");
      }
      return this.#publishing.publish([message]);
    },
    request: async (ws, message, timeout, state) => {
      if (!this.#store.meta) return fail("not_found", "topic does not exist");
      // A request is a publish, and spends the same budget.
      if (state.subject !== undefined && !(await this.#limits.allowPublish(state.subject))) {
        return fail("rate_limited", "too many publishes from this client; slow down and retry");
      }
      return this.#requests.ask(ws, message, timeout);
    },
    reply: (replyTo, message) => this.#requests.reply(replyTo, message),
    send: (ws, frame) => this.#sockets.send(ws, frame),
    close: (ws, closeCode, code, detail) => this.#sockets.refuse(ws, closeCode, code, detail),
  };
}
