import { DurableObject } from "cloudflare:workers";
import type { Following } from "../protocol/edge-rpc";
import type { Result } from "../protocol/errors";
import type { QueueCalls, QueueOp } from "../protocol/sqs-queue";
import type * as Stream from "../protocol/streams";
import type * as Rpc from "../protocol/topic-rpc";
import { PING_FRAME, PONG_FRAME } from "../protocol/ws-frames";
import { isWebSocketUpgrade } from "../protocol/ws-handshake";
import { assemble, runAlarm, type TopicParts } from "./parts";
import type { DeadLetterSource } from "./redrive";
import type { ForkExport, ForkRequest } from "./stream-forks";

/**
 * One topic: the single writer of its log and of its subscriptions' delivery state, all in the
 * object's SQLite database. Every public method is RPC; this class holds the entry points only
 * and hands each to the part that owns the work (./parts.ts, DESIGN.md §7). The topic's name is the
 * object's (`getByName`).
 */
export class Topic extends DurableObject<Env> {
  readonly #p: TopicParts;
  #requests = 0;
  readonly #since = Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    if (ctx.id.name === undefined) throw new Error("a topic's object is addressed by its name (getByName)");
    const parts = assemble(ctx, env, ctx.id.name, () => ({ requests: this.#requests, since: this.#since }));
    this.#p = parts;
    // Keep-alive pings are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    ctx.blockConcurrencyWhile(() => parts.alarm.load());
  }

  // ── RPC: the log ────────────────────────────────────────────────────────

  /**
   * Appends a batch atomically and answers once it is durable. Publishes that
   * arrive together are written in one transaction (group commit). `options` are for the
   * broker's own callers: a route (`ifExists`), a request (`needResponders`).
   */
  publish(
    messages: Rpc.PublishInput[],
    options: Rpc.PublishOptions = {},
  ): Promise<Result<Rpc.PublishReceipt[]>> {
    return this.#rpc(() => this.#p.publishing.publish(messages, options));
  }

  /** Messages after `after` (from the oldest retained without it); long-polls up to `wait` ms. */
  read(options: Rpc.ReadOptions): Promise<Result<Rpc.ReadResult>> {
    return this.#rpc(() => this.#p.polls.read(options));
  }

  // ── RPC: the topic and its subscriptions ────────────────────────────────

  putConfig(patch: Rpc.TopicConfigPatch): Promise<Result<{ created: boolean; topic: Rpc.TopicInfo }>> {
    return this.#rpc(() => this.#p.admin.putConfig(patch));
  }

  info(): Result<Rpc.TopicInfo> {
    return this.#rpc(() => this.#p.admin.info());
  }

  /** Deletes the topic and everything in it; a later publish starts a new epoch. */
  destroy(): Promise<Result<{ deleted: true }>> {
    return this.#rpc(() => this.#p.streams.destroyTopic());
  }

  putSubscription(
    name: string,
    patch: Rpc.SubscriptionConfigPatch,
  ): Promise<Result<{ created: boolean; subscription: Rpc.SubscriptionInfo; secret?: string }>> {
    return this.#rpc(() => this.#p.admin.putSubscription(name, patch));
  }

  getSubscription(name: string): Result<Rpc.SubscriptionInfo> {
    return this.#rpc(() => this.#p.admin.getSubscription(name));
  }

  deleteSubscription(name: string): Result<{ deleted: true }> {
    return this.#rpc(() => this.#p.admin.deleteSubscription(name));
  }

  listSubscriptions(): Result<{ subscriptions: Rpc.SubscriptionInfo[] }> {
    return this.#rpc(() => this.#p.admin.listSubscriptions());
  }

  /** The topic's numbers and its subscriptions' in one call (`/v1/metrics`). */
  metrics(): Result<Rpc.TopicMetrics> {
    return this.#rpc(() => this.#p.admin.metrics());
  }

  /** The topics this one copies messages into: dead-letter topics, routes' targets (loop checks). */
  copiesTo(): Result<string[]> {
    return this.#rpc(() => this.#p.admin.copiesTo());
  }

  // ── RPC: consumers ──────────────────────────────────────────────────────

  /** Leases up to `max` messages; long-polls up to `wait` ms when none is ready. */
  pull(name: string, options: Rpc.PullOptions): Promise<Result<Rpc.PullResult>> {
    return this.#rpc(() => this.#p.verbs.pull(name, options));
  }

  ack(name: string, input: Rpc.AckInput): Result<{ acked: number }> {
    return this.#rpc(() => this.#p.verbs.ack(name, input));
  }

  nack(name: string, input: Rpc.NackInput): Result<{ nacked: number }> {
    return this.#rpc(() => this.#p.verbs.nack(name, input));
  }

  extend(name: string, input: Rpc.ExtendInput): Result<{ extended: number }> {
    return this.#rpc(() => this.#p.verbs.extend(name, input));
  }

  seek(name: string, to: Rpc.SeekTarget): Result<{ cursor: number }> {
    return this.#rpc(() => this.#p.verbs.seek(name, to));
  }

  // ── RPC: relays and sessions (DESIGN.md §5) ─────────────────────────────

  /** A socket a relay held of this topic closed: its place is free again. */
  relayLeft(relay: string, subject: string | null, privileged: boolean): void {
    this.#rpc(() => this.#p.endpoint.relayLeft(relay, subject, privileged));
  }

  /** A `publish` frame from a socket a relay holds, within its client's publish budget. */
  relayPublish(message: Rpc.PublishInput, subject: string | null): Promise<Result<Rpc.PublishReceipt[]>> {
    return this.#rpc(() => this.#p.endpoint.publishFrom(message, subject));
  }

  /** A session follows the topic for its live tails; `epoch: null` while the topic does not exist. */
  follow(edge: string, subject: string | null, privileged: boolean): Result<Following> {
    return this.#rpc(() => this.#p.endpoint.follow(edge, subject, privileged));
  }

  /** A session no longer has a live tail of the topic. */
  unfollow(edge: string): void {
    this.#rpc(() => this.#p.endpoint.unfollow(edge));
  }

  /** A session's subscription `id` consumes `subscription`: pushed within `maxInFlight`. */
  consume(edge: string, id: string, subscription: string, maxInFlight: number): Result<{ epoch: string }> {
    return this.#rpc(() => this.#p.remote.attach(edge, id, subscription, maxInFlight));
  }

  /** A session's consumer changed its credit. */
  consumerFlow(consumer: string, maxInFlight: number): Result<null> {
    return this.#rpc(() => this.#p.remote.flow(consumer, maxInFlight));
  }

  /**
   * A session's consumer is gone: what it held goes to the other consumers at once, unless
   * `release` is false (a session gone in a restart: its leases expire as they would have).
   */
  stopConsuming(consumer: string, release = true): void {
    this.#rpc(() => this.#p.remote.detach(consumer, release));
  }

  // ── RPC: operating subscriptions ────────────────────────────────────────

  /** Acks at once every message published so far that the subscription has not acked. */
  purge(name: string): Result<Rpc.PurgeResult> {
    return this.#rpc(() => this.#p.operations.purge(name));
  }

  /** Gives the subscription's dead letters back to it, each once (./redrive.ts). */
  redrive(name: string): Promise<Result<Rpc.RedriveResult>> {
    return this.#rpc(() => this.#p.operations.redrive(name));
  }

  /** The dead-letter copies in this topic's log of another topic's subscription, for its redrive. */
  deadLettersOf(source: DeadLetterSource, after: number): Result<Rpc.DeadLetterPage> {
    return this.#rpc(() => this.#p.operations.deadLettersOf(source, after));
  }

  // ── RPC: the topic as a Durable Stream (src/http/ds) ───────────────────

  streamCreate(input: Stream.StreamCreateInput): Promise<Result<Stream.StreamCreateOutcome>> {
    return this.#rpc(() => this.#p.streams.create(input));
  }

  streamAppend(input: Stream.StreamAppendInput): Promise<Result<Stream.StreamAppendOutcome>> {
    return this.#rpc(() => this.#p.streams.append(input));
  }

  streamRead(input: Stream.StreamReadInput): Promise<Result<Stream.StreamPage>> {
    return this.#rpc(() => this.#p.streams.read(input));
  }

  streamHead(): Promise<Result<Stream.StreamHead>> {
    return this.#rpc(() => this.#p.streams.head());
  }

  streamDelete(): Promise<Result<{ deleted: true }>> {
    return this.#rpc(() => this.#p.streams.delete());
  }

  /** A fork of this stream asks for what it inherits (./stream-forks.ts). */
  streamExport(request: ForkRequest): Result<ForkExport | { kind: string; detail: string }> {
    return this.#rpc(() => this.#p.streams.forks.export(request));
  }

  /** A fork of this stream is gone. */
  streamForkReleased(fork: string): Promise<Result<{ released: boolean }>> {
    return this.#rpc(() => this.#p.streams.forks.forkReleased(fork));
  }

  /** One operation on the topic as an SQS queue (./queue.ts, src/http/sqs). */
  sqs<K extends QueueOp>(op: K, input: QueueCalls[K]["input"]): Promise<Result<QueueCalls[K]["output"]>> {
    return this.#rpc(() => this.#p.queue.run(op, input));
  }

  // ── the runtime's entry points: upgrades, the alarm, WebSocket events ───

  /** Accepts a WebSocket handed over by the worker (see ./upgrade.ts). */
  override async fetch(request: Request): Promise<Response> {
    return this.#rpc(() =>
      isWebSocketUpgrade(request)
        ? this.#p.endpoint.open(request)
        : new Response("expected a WebSocket upgrade", { status: 426 }),
    );
  }

  override async alarm(): Promise<void> {
    await runAlarm(this.#p);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#requests++;
    await this.#p.events.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#p.events.closed(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#p.events.gone(ws);
  }

  // ── private ─────────────────────────────────────────────────────────────

  /** Every RPC call and upgrade is one billed request. */
  #rpc<T>(fn: () => T): T {
    this.#requests++;
    return fn();
  }
}
