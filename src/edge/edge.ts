import { DurableObject } from "cloudflare:workers";
import { type RelayAudienceRow, type RelayBatch, readRelayUpgrade } from "../protocol/edge-rpc";
import { LIMITS } from "../protocol/limits";
import { VERSION } from "../protocol/version";
import { CLOSE_CODES, PING_FRAME, PONG_FRAME } from "../protocol/ws-frames";
import { isWebSocketUpgrade } from "../protocol/ws-handshake";
import { FanOut } from "./fan-out";
import { close, type HeldReceiver, type HeldSocket, HeldSockets } from "./held-sockets";
import { type EdgeFrameTarget, handleEdgeFrame } from "./relay-frames";

/**
 * An edge object (DESIGN.md §5, "Relays"): it holds client sockets near the clients and is fed
 * by topics, so one topic object is not also the writer of every frame to every socket in the
 * world. As a relay of one topic it holds live tails the topic admitted and handed over; the
 * topic sends it each batch once, and it writes the batch to its sockets. Everything it needs
 * after an eviction is in its sockets' attachments; it has no storage but its alarm.
 */
export class Edge extends DurableObject<Env> {
  readonly #name: string;
  readonly #sockets: HeldSockets;
  readonly #fanOut: FanOut<HeldReceiver>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#name = ctx.id.name ?? ctx.id.toString();
    this.#sockets = new HeldSockets(ctx);
    this.#fanOut = new FanOut(this.#sockets.receivers(), (topic, after) =>
      env.TOPIC.getByName(topic).read({ after, limit: LIMITS.readLimit, wait: 0 }),
    );
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
  }

  // ── RPC: fed by topics ──────────────────────────────────────────────────

  /** A topic's batch: written to each of its sockets here; answers with how many there are. */
  async deliver(batch: RelayBatch): Promise<{ sockets: number }> {
    await this.#fanOut.deliver(batch);
    return { sockets: this.#sockets.of(batch.topic).length };
  }

  /** What this object holds of a topic, by who the topic counts it as. */
  audience(topic: string): RelayAudienceRow[] {
    return this.#sockets.audience(topic);
  }

  /** The topic was deleted: its sockets here are told (4000). */
  closeTopic(topic: string): void {
    for (const ws of this.#sockets.of(topic)) {
      this.#sockets.refuse(ws, CLOSE_CODES.TOPIC_DELETED, "not_found", "the topic was deleted");
    }
  }

  // ── sockets handed over by topics ───────────────────────────────────────

  override async fetch(request: Request): Promise<Response> {
    if (!isWebSocketUpgrade(request)) return new Response("expected a WebSocket upgrade", { status: 426 });
    const options = readRelayUpgrade(new URL(request.url));
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
    const state = this.#sockets.state(ws);
    if (!state) return close(ws, CLOSE_CODES.INTERNAL, "internal: unreadable socket state");
    try {
      if (state.expiresAt !== null && state.expiresAt <= Date.now()) {
        this.#sockets.refuse(ws, CLOSE_CODES.POLICY, "unauthorized", "the token expired");
        return this.#left(state);
      }
      await handleEdgeFrame(this.#frames, ws, state, message);
    } catch (error) {
      console.error(`edge ${this.#name}: a socket frame failed`, error);
      close(ws, CLOSE_CODES.INTERNAL, "internal: the frame could not be handled");
      this.#gone(ws);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    close(ws, code, reason);
    this.#gone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#gone(ws);
  }

  // ── private ─────────────────────────────────────────────────────────────

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

  #gone(ws: WebSocket): void {
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
        console.warn(`edge ${this.#name}: topic ${state.topic} not told of a closed socket`, error);
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
