import { fail } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import { VERSION } from "../protocol/version";
import { CLOSE_CODES, DEFAULT_MAX_IN_FLIGHT } from "../protocol/ws-frames";
import type { Changes } from "./changes";
import type { ConsumerVerbs } from "./consumer-verbs";
import { close, type OpenSockets, type SocketState } from "./open-sockets";
import type { Publishing } from "./publishing";
import { type FrameTarget, handleFrame } from "./socket-frames";
import type { SocketRequests } from "./socket-requests";
import type { TopicStore } from "./store";
import { readUpgrade } from "./upgrade";

/** What bounds the topic's sockets (DESIGN.md §6). */
export interface SocketLimits {
  /** Most sockets opened with tokens (or without auth) on the topic. */
  perTopic: number;
  /** More sockets the admin key may open once the others reach `perTopic`. */
  adminHeadroom: number;
  /** Most sockets one subject (token subject or client address) holds on the topic. */
  perSubject: number;
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
 */
export class SocketEndpoint {
  readonly #sockets: OpenSockets;
  readonly #store: TopicStore;
  readonly #verbs: ConsumerVerbs;
  readonly #publishing: Publishing;
  readonly #changes: Changes;
  readonly #limits: SocketLimits;
  readonly #requests: SocketRequests;

  constructor(deps: {
    sockets: OpenSockets;
    store: TopicStore;
    verbs: ConsumerVerbs;
    publishing: Publishing;
    changes: Changes;
    limits: SocketLimits;
    requests: SocketRequests;
  }) {
    this.#sockets = deps.sockets;
    this.#store = deps.store;
    this.#verbs = deps.verbs;
    this.#publishing = deps.publishing;
    this.#changes = deps.changes;
    this.#limits = deps.limits;
    this.#requests = deps.requests;
  }

  /**
   * Accepts an upgrade handed over by the worker (see ./upgrade.ts). Refusals travel on the
   * accepted socket: a browser cannot read the status of a refused upgrade.
   */
  open(request: Request): Response {
    const { log, subscriptions } = this.#store;
    const options = readUpgrade(new URL(request.url));
    const full = this.#full(options.privileged === true);
    const { perSubject } = this.#limits;
    const crowded = options.subject !== undefined && this.#sockets.heldBy(options.subject) >= perSubject;
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
    if (!meta) return refuse(CLOSE_CODES.NOT_FOUND, "not_found", `topic ${options.topic} does not exist`);
    if (options.subscription !== undefined && !subscriptions.get(options.subscription)) {
      const detail = `subscription ${options.subscription} does not exist`;
      return refuse(CLOSE_CODES.NOT_FOUND, "not_found", detail);
    }
    this.#sockets.send(socket, {
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
    const count = this.#sockets.count;
    return privileged ? count >= perTopic + adminHeadroom : count - this.#sockets.privileged >= perTopic;
  }

  /** How many sockets are open on the topic. */
  get sockets(): number {
    return this.#sockets.count;
  }

  /** How many consumer sockets a subscription has. */
  consumers(subscription: string): number {
    return this.#sockets.consumers(subscription).length;
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
