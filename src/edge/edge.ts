import { DurableObject } from "cloudflare:workers";
import {
  type ConsumerBatch,
  type RelayAudienceRow,
  type RelayBatch,
  readRelayUpgrade,
  readSessionUpgrade,
} from "../protocol/edge-rpc";
import type { ErrorCode } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import { logLine } from "../protocol/log";
import { VERSION } from "../protocol/version";
import { CLOSE_CODES, PING_FRAME, PONG_FRAME } from "../protocol/ws-frames";
import { isWebSocketUpgrade } from "../protocol/ws-handshake";
import { FanOut, type ReadLog } from "./fan-out";
import { close, type HeldReceiver, type HeldSocket, HeldSockets } from "./held-sockets";
import { type EdgeFrameTarget, handleEdgeFrame } from "./relay-frames";
import { Session } from "./session";
import { SessionStore } from "./session-store";

/**
 * An edge object (DESIGN.md §5, "Relays" and "Sessions"): it holds client sockets near the
 * clients and is fed by topics, so one topic object is not also the writer of every frame to
 * every socket in the world. Named `relay/…`, it holds live tails a topic admitted and handed
 * over; named `session/…`, it holds one client connection that carries many subscriptions. Both
 * are fed alike: the topic sends each batch once by RPC, and ./fan-out.ts writes it to the
 * receivers here. After an eviction a relay finds everything in its sockets' attachments, a
 * session in its SQLite.
 */
export class Edge extends DurableObject<Env> {
  readonly #name: string;
  readonly #sockets: HeldSockets;
  readonly #fanOut: FanOut<HeldReceiver>;
  readonly #session: Session | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#name = ctx.id.name ?? ctx.id.toString();
    const read: ReadLog = (topic, after) =>
      env.TOPIC.getByName(topic).read({ after, limit: LIMITS.readLimit, wait: 0 });
    this.#sockets = new HeldSockets(ctx);
    this.#fanOut = new FanOut(this.#sockets.receivers(), read);
    this.#session = this.#name.startsWith("session/")
      ? new Session(this.#name, ctx, env, new SessionStore(ctx.storage), read)
      : null;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
  }

  // ── RPC: fed by topics ──────────────────────────────────────────────────

  /** A topic's batch: written to each of its receivers here; answers with how many there are. */
  async deliver(batch: RelayBatch): Promise<{ sockets: number }> {
    if (this.#session) {
      await this.#session.fanOut.deliver(batch);
      return { sockets: this.#session.socket ? 1 : 0 };
    }
    await this.#fanOut.deliver(batch);
    return { sockets: this.#sockets.of(batch.topic).length };
  }

  /** What this object holds of a topic, by who the topic counts it as. */
  audience(topic: string): RelayAudienceRow[] {
    if (!this.#session) return this.#sockets.audience(topic);
    const connection = this.#session.socket ? this.#session.connection : null;
    if (!connection || !this.#session.follows(topic)) return [];
    return [{ subject: connection.subject ?? "", privileged: connection.privileged, sockets: 1 }];
  }

  /** The topic was deleted: its sockets here are told (4000), a session's subscriptions of it end. */
  closeTopic(topic: string): void {
    if (this.#session) {
      this.#session.topicDeleted(topic);
      return;
    }
    for (const ws of this.#sockets.of(topic)) {
      this.#sockets.refuse(ws, CLOSE_CODES.TOPIC_DELETED, "not_found", "the topic was deleted");
    }
  }

  /** A batch a topic leased to a session's consumer; false when nobody here takes it. */
  consume(batch: ConsumerBatch): boolean {
    return this.#session?.consume(batch) ?? false;
  }

  /** Whether a session still holds a consumer (its socket open): asked by a topic after a restart. */
  holds(consumer: string): boolean {
    return this.#session?.holds(consumer) ?? false;
  }

  /** A topic ended a session's consumer (its subscription was deleted). */
  ended(consumer: string, code: ErrorCode, message: string): void {
    this.#session?.ended(consumer, code, message);
  }

  /** The Registry: a topic a session waits for, or whose name its pattern matches, was created. */
  topicCreated(name: string, pattern: string): Promise<boolean> {
    return this.#session?.topicCreated(name, pattern) ?? Promise.resolve(false);
  }

  // ── sockets: handed over by topics (relays), or opened by the worker (sessions) ──

  override async fetch(request: Request): Promise<Response> {
    if (!isWebSocketUpgrade(request)) return new Response("expected a WebSocket upgrade", { status: 426 });
    const url = new URL(request.url);
    if (this.#session) {
      const connection = readSessionUpgrade(url);
      if (!connection) return new Response("a session opens with its connection", { status: 400 });
      const response = this.#session.open(request, connection);
      if (connection.expiresAt !== null) await this.ctx.storage.setAlarm(connection.expiresAt);
      return response;
    }
    const options = readRelayUpgrade(url);
    const state: HeldSocket = {
      v: 1,
      topic: options.topic,
      epoch: options.epoch,
      lastSent: options.after,
      session: crypto.randomUUID(),
      canPublish: options.canPublish,
      expiresAt: options.expiresAt ?? null,
    };
    if (options.subject !== undefined) state.subject = options.subject;
    if (options.privileged) state.privileged = true;
    const { response, socket } = this.#sockets.accept(request, state);
    this.#sockets.send(socket, {
      type: "hello",
      topic: options.topic,
      after: options.after,
      epoch: options.epoch,
      session: state.session,
      version: VERSION,
    });
    if (state.expiresAt !== null) await this.#armExpiry();
    // A socket that resumes behind the head catches up from the log, after any batch under way.
    const head = options.head;
    this.#fanOut.known({ topic: options.topic, epoch: options.epoch, after: head, last: head, frame: null });
    if (options.after < head) this.ctx.waitUntil(this.#fanOut.run(options.topic).catch(() => {}));
    return response;
  }

  // ── alarm: token expiry ─────────────────────────────────────────────────

  override async alarm(): Promise<void> {
    const now = Date.now();
    if (this.#session) {
      const expiresAt = this.#session.connection?.expiresAt ?? null;
      if (expiresAt !== null && expiresAt <= now) {
        await this.#session.end(CLOSE_CODES.POLICY, "unauthorized", "the token expired");
      }
      return;
    }
    for (const ws of this.#sockets.all()) {
      const state = this.#sockets.state(ws);
      if (state?.expiresAt != null && state.expiresAt <= now) {
        this.#sockets.refuse(ws, CLOSE_CODES.POLICY, "unauthorized", "the token expired");
        this.#left(state);
      }
    }
    await this.#armExpiry();
  }

  // ── WebSocket events ────────────────────────────────────────────────────

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      if (this.#session) return await this.#sessionFrame(ws, message);
      const state = this.#sockets.state(ws);
      if (!state) return close(ws, CLOSE_CODES.INTERNAL, "internal: unreadable socket state");
      if (state.expiresAt !== null && state.expiresAt <= Date.now()) {
        this.#sockets.refuse(ws, CLOSE_CODES.POLICY, "unauthorized", "the token expired");
        return this.#left(state);
      }
      await handleEdgeFrame(this.#frames, ws, state, message);
    } catch (error) {
      logLine("error", "a socket frame failed", { edge: this.#name }, error);
      close(ws, CLOSE_CODES.INTERNAL, "internal: the frame could not be handled");
      await this.#gone(ws);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    close(ws, code, reason);
    await this.#gone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.#gone(ws);
  }

  // ── private ─────────────────────────────────────────────────────────────

  async #sessionFrame(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const session = this.#session as Session;
    if (typeof message !== "string") {
      const detail = "frames are JSON text; binary frames are not accepted";
      return session.end(CLOSE_CODES.INVALID_FRAME, "invalid_request", detail);
    }
    const expiresAt = session.connection?.expiresAt ?? null;
    if (expiresAt !== null && expiresAt <= Date.now()) {
      return session.end(CLOSE_CODES.POLICY, "unauthorized", "the token expired");
    }
    await session.frame(ws, message);
  }

  readonly #frames: EdgeFrameTarget = {
    send: (ws, frame) => this.#sockets.send(ws, frame),
    refuse: (ws, closeCode, code, detail) => {
      const state = this.#sockets.state(ws);
      this.#sockets.refuse(ws, closeCode, code, detail);
      if (state) this.#left(state);
    },
    publish: (state, message) =>
      this.env.TOPIC.getByName(state.topic).relayPublish(message, state.subject ?? null),
  };

  async #gone(ws: WebSocket): Promise<void> {
    if (this.#session) return this.#session.end();
    const state = this.#sockets.state(ws);
    this.#sockets.forget(ws);
    if (state) this.#left(state);
  }

  /** Tells the topic a socket it counts is gone, so its place is free again. */
  #left(state: HeldSocket): void {
    const topic = this.env.TOPIC.getByName(state.topic);
    const left = topic.relayLeft(this.#name, state.subject ?? null, state.privileged === true);
    this.ctx.waitUntil(
      Promise.resolve(left).catch((error: unknown) => {
        // The topic recounts with the relay at its next batch (the counts differ then).
        logLine("warn", "topic not told of a closed socket", { edge: this.#name, topic: state.topic }, error);
      }),
    );
  }

  async #armExpiry(): Promise<void> {
    const next = this.#sockets.nextExpiry();
    const current = await this.ctx.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
    } else if (current === null || current !== next) {
      await this.ctx.storage.setAlarm(next);
    }
  }
}
