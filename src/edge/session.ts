import { can, covers, type Principal } from "../auth/capabilities";
import { type ConsumerBatch, remoteConsumer } from "../protocol/edge-rpc";
import { type ErrorCode, fail, ok, type Result } from "../protocol/errors";
import { REGISTRY_NAME } from "../protocol/registry";
import { closeCodeOf, MAX_TOPICS_PER_PATTERN } from "../protocol/session-frames";
import { type ParsedSessionFrame, parseSessionFrame } from "../protocol/session-schemas";
import { VERSION } from "../protocol/version";
import { CLOSE_CODES, DEFAULT_MAX_IN_FLIGHT, type ServerFrame } from "../protocol/ws-frames";
import { echoSubprotocol } from "../protocol/ws-handshake";
import { FanOut, type ReadLog, type Receivers } from "./fan-out";
import { close } from "./held-sockets";
import type { Connection, SessionStore, Stream } from "./session-store";

type Subscribe = Extract<ParsedSessionFrame, { type: "subscribe" }>;

/**
 * One session (`GET /v1/ws`, DESIGN.md §5, "Sessions"): a client connection that carries many
 * subscriptions. Rights are checked per topic at subscribe time against the connection's token;
 * a refused topic ends that subscription alone. Live tails are fed by their topics exactly as a
 * relay is (./fan-out.ts); consumers stay the topic's (leases, credit), which pushes to them here
 * and takes their acks by RPC. A tail of a topic that does not exist yet, and a prefix pattern,
 * ask the Registry to be told when a matching topic is created.
 *
 * (Over 300 lines: one connection's subscriptions — tails, consumers, patterns — share its
 * rights, credit and resume state; splitting them would pass that state between files.)
 */
export class Session {
  readonly #name: string;
  readonly #ctx: DurableObjectState;
  readonly #env: Env;
  readonly #store: SessionStore;
  readonly fanOut: FanOut<Stream>;
  #queue: Promise<void> = Promise.resolve();
  #ending = false;
  /** Whether ending hands what the session's consumers held to the other consumers at once. */
  #release = true;
  #over = false;

  constructor(name: string, ctx: DurableObjectState, env: Env, store: SessionStore, read: ReadLog) {
    this.#name = name;
    this.#ctx = ctx;
    this.#env = env;
    this.#store = store;
    this.fanOut = new FanOut(this.#receivers, read);
  }

  /** Accepts the client's socket (hibernatable) and says `hello`. */
  open(request: Request, connection: Connection): Response {
    this.#store.open(connection);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.#ctx.acceptWebSocket(server);
    server.serializeAttachment({ v: 1, session: true });
    const protocol = echoSubprotocol(request);
    server.send(JSON.stringify({ type: "hello", session: this.#name, version: VERSION }));
    const headers = protocol === null ? undefined : { "Sec-WebSocket-Protocol": protocol };
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** Who opened the session, while it is open. */
  get connection(): Connection | null {
    return this.#store.connection;
  }

  /** Whether the session has a live tail of `topic`. */
  follows(topic: string): boolean {
    return this.#store
      .all()
      .some((s) => s.topic === topic && (s.kind === "tail" || s.kind === "match") && s.epoch !== null);
  }

  /**
   * The client's socket (a session holds one). A session whose socket is gone (the runtime
   * restarted under it) ends when it is next asked: its topics forget it, its storage goes.
   */
  get socket(): WebSocket | undefined {
    const socket = this.#open();
    if (!socket && !this.#ending && !this.#over && this.#store.connection) {
      this.#ending = true;
      // Gone in a restart: what its consumers held comes back when their leases expire, as for a
      // topic's own socket lost in a restart (a client that reconnects meanwhile acks it).
      this.#release = false;
      this.#ctx.waitUntil(this.end().catch(() => {}));
    }
    return socket;
  }

  /**
   * One frame from the client. Frames are handled one after another, in the order they came: a
   * frame waits for a topic's answer, and the next must see what it changed (the cap, the ids).
   */
  frame(ws: WebSocket, text: string): Promise<void> {
    const next = this.#queue.then(() => this.#frame(ws, text));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #frame(_ws: WebSocket, text: string): Promise<void> {
    const parsed = parseSessionFrame(text);
    if (!parsed.ok) {
      if (parsed.code === "payload_too_large") {
        return this.end(CLOSE_CODES.TOO_BIG, "payload_too_large", parsed.detail);
      }
      return this.#send({ type: "error", code: parsed.code, message: parsed.detail, ...idOf(parsed) });
    }
    const frame = parsed.value;
    const answer = (result: Result<unknown>) =>
      this.#send(
        result.ok
          ? frame.id === undefined
            ? null
            : { type: "ok", id: frame.id }
          : { type: "error", code: result.code, message: result.detail, ...idOf(frame) },
      );
    switch (frame.type) {
      case "ping":
        return this.#send({ type: "pong", ...idOf(frame) });
      case "subscribe":
        return this.#subscribe(frame);
      case "unsubscribe":
        return answer(await this.#unsubscribe(frame.id));
    }
    const consumer = this.#store
      .all()
      .find((s) => s.kind === "consumer" && s.topic === frame.topic && s.subscription === frame.subscription);
    if (!consumer) {
      return answer(fail("not_found", `no consumer of ${frame.topic}/${frame.subscription} in this session`));
    }
    const topic = this.#topic(frame.topic);
    const name = frame.subscription;
    const { type: _, id: __, topic: ___, subscription: ____, ...input } = frame;
    switch (frame.type) {
      case "ack":
        return answer(await topic.ack(name, input as { seqs: number[] }));
      case "nack":
        return answer(await topic.nack(name, input as { seqs: number[] }));
      case "extend":
        return answer(await topic.extend(name, input as { seqs: number[] }));
      case "flow":
        return answer(await topic.consumerFlow(remoteConsumer(this.#name, consumer.id), frame.maxInFlight));
    }
  }

  /** A batch the topic leased to one of the session's consumers; false when it has no one to give it to. */
  consume(batch: ConsumerBatch): boolean {
    const stream = this.#store
      .all()
      .find((s) => s.kind === "consumer" && remoteConsumer(this.#name, s.id) === batch.consumer);
    const ws = this.socket;
    if (!stream || !ws) return false;
    this.#sendText(sessionFrame(batch.frame, stream.id, batch.topic, stream.subscription));
    return true;
  }

  #open(): WebSocket | undefined {
    return this.#ctx.getWebSockets().find((ws) => ws.readyState === WebSocket.OPEN);
  }

  /** Whether the session holds a consumer and its client is connected. */
  holds(consumer: string): boolean {
    const held = this.#store
      .all()
      .some((s) => s.kind === "consumer" && remoteConsumer(this.#name, s.id) === consumer);
    return held && this.socket !== undefined;
  }

  /** The broker ended a consumer (its subscription deleted). */
  ended(consumer: string, code: ErrorCode, message: string): void {
    const stream = this.#store
      .all()
      .find((s) => s.kind === "consumer" && remoteConsumer(this.#name, s.id) === consumer);
    if (!stream) return;
    this.#store.remove(stream);
    this.#ended(stream.id, code, message);
  }

  /** A topic was created that a waiting tail or a pattern of this session wants. */
  async topicCreated(name: string, pattern: string): Promise<boolean> {
    if (!this.socket) return false;
    const streams = this.#store.all();
    const waiting = streams.filter((s) => s.kind === "tail" && s.topic === name && s.epoch === null);
    const patterns = pattern.endsWith("*")
      ? streams.filter(
          (s) =>
            s.kind === "pattern" &&
            s.topic === pattern &&
            !streams.some((m) => m.id === s.id && m.topic === name),
        )
      : [];
    if (waiting.length === 0 && patterns.length === 0) return false;
    const followed = await this.#follow(name);
    if (!followed.ok || followed.value.epoch === null) return true;
    const { epoch } = followed.value;
    for (const stream of waiting) {
      stream.epoch = epoch;
      this.#store.put(stream);
      this.#send({ type: "subscribed", id: stream.id, topic: name, epoch, after: stream.lastSent });
    }
    for (const { id } of patterns)
      this.#store.put({ id, topic: name, kind: "match", subscription: null, epoch, lastSent: 0 });
    if (waiting.length > 0) await this.#unwatch(name);
    this.#catchUp(name, epoch, followed.value.head);
    return true;
  }

  /** The topic was deleted: its tails and consumers here end; a pattern goes on without it. */
  topicDeleted(topic: string): void {
    for (const stream of this.#store.all().filter((s) => s.topic === topic && s.kind !== "pattern")) {
      this.#store.remove(stream);
      if (stream.kind !== "match") this.#ended(stream.id, "not_found", "the topic was deleted");
    }
  }

  /** Ends the session: every topic forgets it, then it forgets everything. */
  async end(closeCode?: number, code?: ErrorCode, detail?: string): Promise<void> {
    if (this.#over) return;
    this.#over = true;
    this.#ending = true;
    const ws = this.#open();
    if (ws && closeCode !== undefined && code !== undefined && detail !== undefined) {
      this.#send({ type: "error", code, message: detail });
      close(ws, closeCode, `${code}: ${detail}`.slice(0, 120));
    }
    const ids = new Set(this.#store.all().map((s) => s.id));
    await Promise.allSettled([...ids].map((id) => this.#unsubscribe(id)));
    await this.#store.erase();
  }

  // ── subscribing ───────────────────────────────────────────────────────────

  async #subscribe(frame: Subscribe): Promise<void> {
    const refuse = (code: ErrorCode, message: string) => this.#ended(frame.id, code, message);
    const connection = this.#store.connection as Connection;
    const principal = principalOf(connection);
    const ids = new Set(this.#store.all().map((s) => s.id));
    if (ids.has(frame.id))
      return refuse("conflict", `subscription ${frame.id} already exists in this session`);
    if (ids.size >= connection.maxSubscriptions) {
      return refuse("rate_limited", `a session carries at most ${connection.maxSubscriptions} subscriptions`);
    }
    if (frame.topic.endsWith("*")) {
      if (frame.subscription !== undefined)
        return refuse("invalid_request", "a consumer names one topic, not a pattern");
      if (!covers(principal, { pattern: frame.topic, rights: ["subscribe"] })) {
        return refuse("forbidden", `no subscribe right on every topic of ${frame.topic}`);
      }
      return this.#subscribePattern(frame);
    }
    if (!can(principal, "subscribe", frame.topic))
      return refuse("forbidden", `no subscribe right on ${frame.topic}`);
    if (frame.subscription !== undefined) return this.#subscribeConsumer(frame, frame.subscription);
    const followed = await this.#follow(frame.topic);
    if (!followed.ok) return refuse(followed.code, followed.detail);
    const { epoch, head } = followed.value;
    if (frame.epoch !== undefined && frame.epoch !== epoch) {
      if (epoch !== null) await this.#unfollowIfUnused(frame.topic);
      return refuse(
        "conflict",
        "the topic was deleted and re-created; positions in the old epoch mean nothing here",
      );
    }
    const stream: Stream = {
      id: frame.id,
      topic: frame.topic,
      kind: "tail",
      subscription: null,
      epoch,
      lastSent: frame.after ?? head,
    };
    this.#store.put(stream);
    this.#send({ type: "subscribed", id: frame.id, topic: frame.topic, epoch, after: stream.lastSent });
    if (epoch === null) {
      // Subscribe first: the Registry tells the session when the topic is created.
      const exists = await this.#registry().watch(this.#name, frame.topic);
      if (exists.length > 0) await this.topicCreated(frame.topic, frame.topic);
      return;
    }
    this.#catchUp(frame.topic, epoch, head);
  }

  async #subscribePattern(frame: Subscribe): Promise<void> {
    this.#store.put({
      id: frame.id,
      topic: frame.topic,
      kind: "pattern",
      subscription: null,
      epoch: null,
      lastSent: 0,
    });
    const existing = await this.#registry().watch(this.#name, frame.topic);
    this.#send({ type: "subscribed", id: frame.id, topic: frame.topic });
    for (const topic of existing.slice(0, MAX_TOPICS_PER_PATTERN)) {
      const followed = await this.#follow(topic);
      if (!followed.ok || followed.value.epoch === null) continue;
      const { epoch, head } = followed.value;
      const lastSent = Math.min(frame.positions?.[topic] ?? head, head);
      this.#store.put({ id: frame.id, topic, kind: "match", subscription: null, epoch, lastSent });
      this.#catchUp(topic, epoch, head);
    }
  }

  async #subscribeConsumer(frame: Subscribe, subscription: string): Promise<void> {
    const maxInFlight = frame.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const attached = await this.#topic(frame.topic).consume(this.#name, frame.id, subscription, maxInFlight);
    if (!attached.ok) return this.#ended(frame.id, attached.code, attached.detail);
    this.#store.put({
      id: frame.id,
      topic: frame.topic,
      kind: "consumer",
      subscription,
      epoch: attached.value.epoch,
      lastSent: 0,
    });
    this.#send({
      type: "subscribed",
      id: frame.id,
      topic: frame.topic,
      subscription,
      epoch: attached.value.epoch,
    });
  }

  async #unsubscribe(id: string): Promise<Result<null>> {
    const streams = this.#store.of(id);
    if (streams.length === 0) return fail("not_found", `no subscription ${id} in this session`);
    for (const stream of streams) this.#store.remove(stream);
    for (const stream of streams) {
      if (stream.kind === "consumer")
        await this.#topic(stream.topic).stopConsuming(remoteConsumer(this.#name, id), this.#release);
      else if (stream.kind === "pattern") await this.#registry().unwatch(this.#name, stream.topic);
      else if (stream.epoch === null) await this.#unwatch(stream.topic);
      else await this.#unfollowIfUnused(stream.topic);
    }
    return ok(null);
  }

  // ── feeding ─────────────────────────────────────────────────────────────

  readonly #receivers: Receivers<Stream> = {
    of: (topic) =>
      this.socket
        ? this.#store
            .all()
            .filter((s) => s.topic === topic && (s.kind === "tail" || s.kind === "match") && s.epoch !== null)
        : [],
    send: (topic, group, frame, last) => {
      for (const stream of group) {
        this.#sendText(sessionFrame(frame, stream.id, topic, null));
        stream.lastSent = last;
        this.#store.moved(stream);
      }
    },
    end: (group, _closeCode, code, detail) => {
      for (const stream of group) {
        this.#store.remove(stream);
        if (stream.kind === "tail") this.#ended(stream.id, code, detail);
      }
    },
  };

  /** Brings a topic's new tails here up to its head (a tail resumed from an older `after`). */
  #catchUp(topic: string, epoch: string, head: number): void {
    this.fanOut.known({ topic, epoch, after: head, last: head, frame: null });
    this.#ctx.waitUntil(this.fanOut.run(topic).catch(() => {}));
  }

  #follow(topic: string) {
    const { subject, privileged } = this.#store.connection as Connection;
    return this.#topic(topic).follow(this.#name, subject, privileged);
  }

  async #unfollowIfUnused(topic: string): Promise<void> {
    const used = this.#store
      .all()
      .some((s) => s.topic === topic && (s.kind === "tail" || s.kind === "match"));
    if (!used) await this.#topic(topic).unfollow(this.#name);
  }

  async #unwatch(topic: string): Promise<void> {
    const waiting = this.#store.all().some((s) => s.kind === "tail" && s.topic === topic && s.epoch === null);
    if (!waiting) await this.#registry().unwatch(this.#name, topic);
  }

  #topic(name: string) {
    return this.#env.TOPIC.getByName(name);
  }

  #registry() {
    return this.#env.REGISTRY.getByName(REGISTRY_NAME);
  }

  /** A subscription refused or ended: the client is told with the close code a socket of its own would get. */
  #ended(id: string, code: ErrorCode, message: string): void {
    this.#send({ type: "error", id, code, message, closeCode: closeCodeOf(code, message) });
  }

  #send(frame: ServerFrame | { type: "subscribed"; [k: string]: unknown } | null): void {
    if (frame !== null) this.#sendText(JSON.stringify(frame));
  }

  #sendText(text: string): void {
    try {
      this.socket?.send(text);
    } catch {
      // closed under us: its close handler ends the session
    }
  }
}

const idOf = (frame: { id?: string }) => (frame.id === undefined ? {} : { id: frame.id });

function principalOf(connection: Connection): Principal {
  return {
    kind: "token",
    subject: connection.subject,
    grants: connection.grants as Principal["grants"],
    expiresAt: connection.expiresAt,
  };
}

const SINGLE = '{"type":"message","message":';
const MANY = '{"type":"messages","messages":';

/**
 * A topic's `message`/`messages` frame as a session's `messages` frame for one subscription: the
 * topic serialised the messages once, and only the envelope around them is written here.
 */
export function sessionFrame(frame: string, id: string, topic: string, subscription: string | null): string {
  const messages = frame.startsWith(MANY)
    ? frame.slice(MANY.length, -1)
    : `[${frame.slice(SINGLE.length, -1)}]`;
  const named = subscription === null ? "" : `,"subscription":${JSON.stringify(subscription)}`;
  return `{"type":"messages","id":${JSON.stringify(id)},"topic":${JSON.stringify(topic)}${named},"messages":${messages}}`;
}
