import { DurableObject } from "cloudflare:workers";
import { ok, type Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import type {
  StreamAppendInput,
  StreamAppendOutcome,
  StreamCreateInput,
  StreamCreateOutcome,
  StreamHead,
  StreamPage,
  StreamReadInput,
} from "../protocol/streams";
import type {
  AckInput,
  DeadLetterPage,
  ExtendInput,
  NackInput,
  PublishInput,
  PublishOptions,
  PublishReceipt,
  PullOptions,
  PullResult,
  PurgeResult,
  ReadOptions,
  ReadResult,
  RedriveResult,
  SeekTarget,
  SubscriptionConfigPatch,
  SubscriptionInfo,
  TopicConfigPatch,
  TopicInfo,
} from "../protocol/topic-rpc";
import { CLOSE_CODES, PING_FRAME, PONG_FRAME } from "../protocol/ws-frames";
import { isWebSocketUpgrade } from "../protocol/ws-handshake";
import { TopicAdmin } from "./admin";
import { Alarm } from "./alarm";
import { Changes } from "./changes";
import { ConsumerVerbs } from "./consumer-verbs";
import { noSubscription } from "./failures";
import { Housekeeping } from "./housekeeping";
import { LongPolls } from "./long-polls";
import { close, OpenSockets } from "./open-sockets";
import { Publishing } from "./publishing";
import { purge } from "./purge";
import { Push } from "./push";
import { type DeadLetterSource, deadLettersOf, redrive } from "./redrive";
import { Registration } from "./registration";
import { RouteForwarding } from "./route-forwarding";
import { positiveInt, SocketEndpoint, socketLimits } from "./socket-endpoint";
import { SocketRequests } from "./socket-requests";
import { TopicStore } from "./store";
import type { ForkExport, ForkRequest, ForkSource } from "./stream-forks";
import { Streams } from "./streams";
import { type PushTransport, Webhooks } from "./webhooks";

/**
 * One topic: the single writer of its log and of its subscriptions' delivery state, all in the
 * object's SQLite database. Every public method is RPC; this class holds the entry points only
 * and hands each to the module that owns the work (DESIGN.md §7). The topic's name is the
 * object's (`getByName`).
 */
export class Topic extends DurableObject<Env> {
  readonly #name: string;
  readonly #store: TopicStore;
  readonly #polls: LongPolls;
  readonly #alarm: Alarm;
  readonly #changes: Changes;
  readonly #housekeeping: Housekeeping;
  readonly #publishing: Publishing;
  readonly #verbs: ConsumerVerbs;
  readonly #endpoint: SocketEndpoint;
  readonly #admin: TopicAdmin;
  readonly #webhooks: Webhooks;
  readonly #streams: Streams;
  #requests = 0;
  readonly #since = Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    if (ctx.id.name === undefined) throw new Error("a topic's object is addressed by its name (getByName)");
    const name = ctx.id.name;
    this.#name = name;
    const store = new TopicStore(ctx.storage);
    const polls = new LongPolls(store, positiveInt(env.MAX_LONG_POLLS_PER_TOPIC) ?? LIMITS.longPollsPerTopic);
    this.#polls = polls;
    const sockets = new OpenSockets(ctx);
    const push = new Push(store, sockets, () => changes.react("sockets"));
    const registration = new Registration(env.REGISTRY, store);
    const publishTo = (topic: string, messages: PublishInput[], options?: PublishOptions) =>
      env.TOPIC.getByName(topic).publish(messages, options);
    const forwarding = new RouteForwarding(store, publishTo);
    const housekeeping = new Housekeeping(store, registration, publishTo, forwarding);
    const alarm = new Alarm(ctx.storage, store, {
      socketExpiry: () => sockets.nextExpiry(),
      registered: () => registration.done,
      retryAt: () => housekeeping.retryAt,
      pushDue: () => webhooks.nextDue(),
      expiry: () => store.stream.expiresAt(),
    });
    const changes = new Changes(store, {
      wake: () => polls.wake(),
      push: () => {
        push.pump();
        webhooks.pump();
      },
      arm: () => alarm.arm(),
    });
    const webhooks = new Webhooks({
      topic: name,
      store,
      state: store.pushState,
      changes,
      transport: pushTransport(env),
      allowPrivate: env.PUSH_ALLOW_PRIVATE?.trim().toLowerCase() === "true",
      keepAlive: (work) => ctx.waitUntil(work),
    });
    this.#webhooks = webhooks;
    const verbs = new ConsumerVerbs(store, changes, polls);
    const publishing = new Publishing(name, store, changes, registration);
    const limits = socketLimits(env);
    const requests = new SocketRequests(name, (inbox) => env.INBOX.getByName(inbox));
    const endpoint = new SocketEndpoint({ sockets, store, verbs, publishing, changes, limits, requests });
    const usage = () => ({ ...store.sql.usage, requests: this.#requests, since: this.#since });
    this.#admin = new TopicAdmin({
      name,
      store,
      changes,
      registration,
      endpoint,
      polls,
      usage,
      forgetPush: (subscription) => webhooks.forget(subscription),
    });
    const admin = this.#admin;
    this.#streams = new Streams({
      name,
      store,
      changes,
      polls,
      registration,
      destroy: () => admin.destroy(),
      source: ((topic: string) => env.TOPIC.getByName(topic)) as unknown as ForkSource,
    });
    this.#store = store;
    this.#alarm = alarm;
    this.#changes = changes;
    this.#housekeeping = housekeeping;
    this.#publishing = publishing;
    this.#verbs = verbs;
    this.#endpoint = endpoint;
    // Keep-alive pings are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    ctx.blockConcurrencyWhile(() => alarm.load());
  }

  // ── RPC: the log ────────────────────────────────────────────────────────

  /**
   * Appends a batch atomically and answers once it is durable. Publishes that
   * arrive together are written in one transaction (group commit). `options` are for the
   * broker's own callers: a route (`ifExists`), a request (`needResponders`).
   */
  publish(messages: PublishInput[], options: PublishOptions = {}): Promise<Result<PublishReceipt[]>> {
    return this.#rpc(() => this.#publishing.publish(messages, options));
  }

  /** Messages after `after` (from the oldest retained without it); long-polls up to `wait` ms. */
  read(options: ReadOptions): Promise<Result<ReadResult>> {
    return this.#rpc(() => this.#polls.read(options));
  }

  // ── RPC: the topic and its subscriptions ────────────────────────────────

  putConfig(patch: TopicConfigPatch): Promise<Result<{ created: boolean; topic: TopicInfo }>> {
    return this.#rpc(() => this.#admin.putConfig(patch));
  }

  info(): Result<TopicInfo> {
    return this.#rpc(() => this.#admin.info());
  }

  /** Deletes the topic and everything in it; a later publish starts a new epoch. */
  destroy(): Promise<Result<{ deleted: true }>> {
    return this.#rpc(() => this.#streams.destroyTopic());
  }

  putSubscription(
    name: string,
    patch: SubscriptionConfigPatch,
  ): Promise<Result<{ created: boolean; subscription: SubscriptionInfo; secret?: string }>> {
    return this.#rpc(() => this.#admin.putSubscription(name, patch));
  }

  getSubscription(name: string): Result<SubscriptionInfo> {
    return this.#rpc(() => this.#admin.getSubscription(name));
  }

  deleteSubscription(name: string): Result<{ deleted: true }> {
    return this.#rpc(() => this.#admin.deleteSubscription(name));
  }

  listSubscriptions(): Result<{ subscriptions: SubscriptionInfo[] }> {
    return this.#rpc(() => this.#admin.listSubscriptions());
  }

  /** The topics this one copies messages into: dead-letter topics, routes' targets (loop checks). */
  copiesTo(): Result<string[]> {
    return this.#rpc(() => this.#admin.copiesTo());
  }

  // ── RPC: consumers ──────────────────────────────────────────────────────

  /** Leases up to `max` messages; long-polls up to `wait` ms when none is ready. */
  pull(name: string, options: PullOptions): Promise<Result<PullResult>> {
    return this.#rpc(() => this.#verbs.pull(name, options));
  }

  ack(name: string, input: AckInput): Result<{ acked: number }> {
    return this.#rpc(() => this.#verbs.ack(name, input));
  }

  nack(name: string, input: NackInput): Result<{ nacked: number }> {
    return this.#rpc(() => this.#verbs.nack(name, input));
  }

  extend(name: string, input: ExtendInput): Result<{ extended: number }> {
    return this.#rpc(() => this.#verbs.extend(name, input));
  }

  seek(name: string, to: SeekTarget): Result<{ cursor: number }> {
    return this.#rpc(() => this.#verbs.seek(name, to));
  }

  // ── RPC: operating subscriptions ────────────────────────────────────────

  /** Acks at once every message published so far that the subscription has not acked. */
  purge(name: string): Result<PurgeResult> {
    return this.#rpc(() => {
      const subscription = this.#store.subscriptions.get(name);
      if (!subscription) return noSubscription(name);
      return ok({ purged: this.#changes.apply(() => purge(this.#store, subscription)) });
    });
  }

  /** Gives the subscription's dead letters back to it, each once (./redrive.ts). */
  redrive(name: string): Promise<Result<RedriveResult>> {
    return this.#rpc(() =>
      redrive(this.#store, this.#changes, name, (topic, source, after) =>
        this.env.TOPIC.getByName(topic).deadLettersOf(source, after),
      ),
    );
  }

  /** The dead-letter copies in this topic's log of another topic's subscription, for its redrive. */
  deadLettersOf(source: DeadLetterSource, after: number): Result<DeadLetterPage> {
    return this.#rpc(() => deadLettersOf(this.#store, source, after));
  }

  // ── RPC: the topic as a Durable Stream (src/http/ds) ───────────────────

  streamCreate(input: StreamCreateInput): Promise<Result<StreamCreateOutcome>> {
    return this.#rpc(() => this.#streams.create(input));
  }

  streamAppend(input: StreamAppendInput): Promise<Result<StreamAppendOutcome>> {
    return this.#rpc(() => this.#streams.append(input));
  }

  streamRead(input: StreamReadInput): Promise<Result<StreamPage>> {
    return this.#rpc(() => this.#streams.read(input));
  }

  streamHead(): Promise<Result<StreamHead>> {
    return this.#rpc(() => this.#streams.head());
  }

  streamDelete(): Promise<Result<{ deleted: true }>> {
    return this.#rpc(() => this.#streams.delete());
  }

  /** A fork of this stream asks for what it inherits (./stream-forks.ts). */
  streamExport(request: ForkRequest): Result<ForkExport | { kind: string; detail: string }> {
    return this.#rpc(() => this.#streams.forks.export(request));
  }

  /** A fork of this stream is gone. */
  streamForkReleased(fork: string): Promise<Result<{ released: boolean }>> {
    return this.#rpc(() => this.#streams.forks.forkReleased(fork));
  }

  // ── WebSocket upgrades ──────────────────────────────────────────────────

  /** Accepts a WebSocket handed over by the worker (see ./upgrade.ts). */
  override async fetch(request: Request): Promise<Response> {
    return this.#rpc(() =>
      isWebSocketUpgrade(request)
        ? this.#endpoint.open(request)
        : new Response("expected a WebSocket upgrade", { status: 426 }),
    );
  }

  // ── alarm ───────────────────────────────────────────────────────────────

  override async alarm(): Promise<void> {
    this.#alarm.fired();
    const now = Date.now();
    this.#endpoint.closeExpired(now);
    if (await this.#streams.expireIfDue(now)) return;
    await this.#housekeeping.run(now);
    this.#changes.react();
  }

  // ── WebSocket events ────────────────────────────────────────────────────
  // One bad frame or close must not take the object down with it: failures are logged with the
  // topic's name, and the socket is told.

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#requests++;
    try {
      await this.#endpoint.message(ws, message);
    } catch (error) {
      console.error(`topic ${this.#name}: a socket frame failed`, error);
      close(ws, CLOSE_CODES.INTERNAL, "internal: the frame could not be handled");
      this.#socketGone(ws);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    close(ws, code, reason);
    this.#socketGone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#socketGone(ws);
  }

  // ── private ─────────────────────────────────────────────────────────────

  /** Every RPC call and upgrade is one billed request. */
  #rpc<T>(fn: () => T): T {
    this.#requests++;
    return fn();
  }

  #socketGone(ws: WebSocket): void {
    try {
      this.#endpoint.closed(ws);
    } catch (error) {
      console.error(`topic ${this.#name}: cleaning up after a socket failed`, error);
    }
  }
}

/**
 * How a push request leaves the object: `fetch` for a URL (never following a redirect), or the
 * `fetch` of the service binding a push config names (another Worker, no public URL).
 */
function pushTransport(env: Env): PushTransport {
  return (push, request, signal) => {
    if (push.service === null) return fetch(request, { signal, redirect: "manual" });
    const binding = (env as unknown as Record<string, unknown>)[push.service] as Fetcher | undefined;
    if (typeof binding?.fetch !== "function") {
      return Promise.reject(new Error(`the worker has no service binding named ${push.service}`));
    }
    return binding.fetch(request, { signal, redirect: "manual" });
  };
}
