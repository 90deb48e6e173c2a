import { DurableObject } from "cloudflare:workers";
import { fail, ok, type Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import type { WireMessage } from "../protocol/message";
import { PING_FRAME, PONG_FRAME } from "../protocol/ws-frames";
import { nextAlarm, RETRY_LATER_MS, runHousekeeping } from "./alarm";
import { mergeTopicConfig } from "./config";
import { Connections } from "./connections";
import { moveDeadLetters } from "./dead-letter";
import { Delivery } from "./delivery";
import { GroupCommit, type Publish } from "./group-commit";
import { subscriptionInfo, topicInfo } from "./info";
import { Log, type TopicMeta, toWire } from "./log";
import { migrate } from "./migrations";
import { close } from "./sockets";
import { Sql } from "./sql";
import { type Subscription, Subscriptions } from "./subscriptions";
import type {
  PublishInput,
  PublishReceipt,
  PullOptions,
  ReadOptions,
  ReadResult,
  SeekTarget,
  SubscriptionConfigPatch,
  SubscriptionInfo,
  TopicConfigPatch,
  TopicInfo,
} from "./types";
import { Waiters } from "./waiters";

/** A deployment's override of a limit (a wrangler var), when it is a positive integer. */
const positiveInt = (value: string | undefined) => {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

const noTopic = () => fail("not_found", "topic does not exist");
const noSubscription = (name: string) => fail("not_found", `subscription ${name} does not exist`);

/**
 * One topic: the single writer of its log and of its subscriptions' delivery
 * state, all in the object's SQLite database. Every public method is RPC.
 */
export class Topic extends DurableObject<Env> {
  readonly #sql: Sql;
  readonly #log: Log;
  readonly #subscriptions: Subscriptions;
  readonly #delivery: Delivery;
  readonly #connections: Connections;
  readonly #waiters = new Waiters();
  readonly #commits = new GroupCommit((group) => this.#write(group));
  #alarmAt: number | null = null;
  #retryAt = 0;
  #deadLettersPending = false;
  #requests = 0;
  readonly #since = Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = new Sql(ctx.storage.sql);
    migrate(this.#sql, (fn) => ctx.storage.transactionSync(fn));
    this.#log = new Log(this.#sql);
    this.#subscriptions = new Subscriptions(this.#sql);
    this.#delivery = new Delivery(this.#sql, this.#log, this.#subscriptions);
    this.#connections = new Connections({
      ctx,
      transaction: (fn) => this.#transaction(fn),
      maxSockets: positiveInt(env.MAX_SOCKETS_PER_TOPIC) ?? LIMITS.connectionsPerTopic,
      log: this.#log,
      subscriptions: this.#subscriptions,
      delivery: this.#delivery,
      publish: (message) =>
        this.#commits.add({ topic: (this.#log.meta as TopicMeta).name, messages: [message] }),
      settle: (name, change) => this.#onSubscription(name, change),
      changed: () => this.#afterChange(),
    });
    // Keep-alive pings are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
    this.#deadLettersPending = this.#sql.number("SELECT COUNT(*) FROM dead_letters") !== 0;
    ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  // ── RPC: the log ────────────────────────────────────────────────────────

  /**
   * Appends a batch atomically and answers once it is durable. Publishes that
   * arrive together are written in one transaction (group commit).
   */
  publish(topic: string, messages: PublishInput[]): Promise<Result<PublishReceipt[]>> {
    this.#requests++;
    return this.#commits.add({ topic, messages });
  }

  async read(options: ReadOptions): Promise<Result<ReadResult>> {
    this.#requests++;
    if (!this.#log.meta) return noTopic();
    const after = options.after ?? 0;
    const rows = await this.#waiters.waitFor(options.wait, () => {
      const found = this.#log.meta ? this.#log.read(after, options.limit) : [];
      return found.length ? found : null;
    });
    const meta = this.#log.meta as TopicMeta | null;
    if (!meta) return noTopic();
    const messages = (rows ?? []).map(toWire);
    return ok({ messages, next: messages.at(-1)?.seq ?? after, epoch: meta.epoch });
  }

  // ── RPC: the topic ──────────────────────────────────────────────────────

  async putConfig(
    topic: string,
    patch: TopicConfigPatch,
  ): Promise<Result<{ created: boolean; topic: TopicInfo }>> {
    this.#requests++;
    const created = !this.#log.meta;
    this.#transaction(() => {
      const meta = this.#ensure(topic);
      meta.config = mergeTopicConfig(meta.config, patch);
      this.#log.saveMeta();
    });
    this.#afterChange();
    // A topic is listed by the time the request that created it is answered.
    if (created) await this.#register();
    return ok({ created, topic: this.#topicInfo() });
  }

  info(): Result<TopicInfo> {
    this.#requests++;
    return this.#log.meta ? ok(this.#topicInfo()) : noTopic();
  }

  /** Deletes the topic and everything in it; a later publish starts a new epoch. */
  async destroy(): Promise<Result<{ deleted: true }>> {
    this.#requests++;
    const meta = this.#log.meta;
    if (!meta) return noTopic();
    this.#connections.closeTopic();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#alarmAt = null;
    migrate(this.#sql, (fn) => this.ctx.storage.transactionSync(fn));
    this.#log.load();
    this.#subscriptions.load();
    this.#delivery.reload();
    this.#deadLettersPending = false;
    this.#waiters.wake();
    try {
      await this.env.REGISTRY.getByName("global").unregister(meta.name, meta.createdAt);
    } catch (error) {
      console.error(`topic ${meta.name} deleted but not removed from the registry`, error);
    }
    return ok({ deleted: true });
  }

  // ── RPC: subscriptions ──────────────────────────────────────────────────

  async putSubscription(
    topic: string,
    name: string,
    patch: SubscriptionConfigPatch,
  ): Promise<Result<{ created: boolean; subscription: SubscriptionInfo }>> {
    this.#requests++;
    const existing = this.#subscriptions.get(name);
    if (!existing && this.#subscriptions.size >= LIMITS.subscriptionsPerTopic) {
      return fail("conflict", `a topic has at most ${LIMITS.subscriptionsPerTopic} subscriptions`);
    }
    const created = !this.#log.meta;
    this.#transaction(() => {
      this.#ensure(topic);
      if (existing) this.#subscriptions.configure(existing, patch);
      else this.#subscriptions.create(name, Date.now(), this.#cursorFor(patch.startAt ?? "latest"), patch);
    });
    this.#afterChange();
    if (created) await this.#register();
    return ok({
      created: !existing,
      subscription: this.#subscriptionInfo(this.#subscriptions.get(name) as Subscription),
    });
  }

  getSubscription(name: string): Result<SubscriptionInfo> {
    this.#requests++;
    const subscription = this.#subscriptions.get(name);
    return subscription ? ok(this.#subscriptionInfo(subscription)) : noSubscription(name);
  }

  deleteSubscription(name: string): Result<{ deleted: true }> {
    this.#requests++;
    let deleted = false;
    this.#transaction(() => {
      deleted = this.#subscriptions.delete(name);
      if (deleted) this.#delivery.forget(name);
    });
    if (!deleted) return noSubscription(name);
    this.#connections.closeSubscription(name);
    this.#afterChange();
    return ok({ deleted: true });
  }

  listSubscriptions(): Result<{ subscriptions: SubscriptionInfo[] }> {
    this.#requests++;
    if (!this.#log.meta) return noTopic();
    return ok({ subscriptions: this.#subscriptions.all().map((s) => this.#subscriptionInfo(s)) });
  }

  /** Leases up to `max` messages; long-polls up to `wait` ms when none is ready. */
  async pull(name: string, options: PullOptions): Promise<Result<{ messages: WireMessage[] }>> {
    this.#requests++;
    if (!this.#subscriptions.get(name)) return noSubscription(name);
    const messages = await this.#waiters.waitFor(options.wait, () => {
      const subscription = this.#subscriptions.get(name);
      if (!subscription) return null;
      const leased = this.#transaction(() =>
        this.#delivery.deliver(subscription, options.max, Date.now(), null),
      );
      return leased.length ? leased : null;
    });
    if (!this.#subscriptions.get(name)) return noSubscription(name);
    if (messages) this.#afterChange(false);
    return ok({ messages: messages ?? [] });
  }

  ack(name: string, seqs: number[]): Result<{ acked: number }> {
    this.#requests++;
    return this.#onSubscription(name, (s) => ({ acked: this.#delivery.ack(s, seqs) }));
  }

  nack(name: string, seqs: number[], delay?: number): Result<{ nacked: number }> {
    this.#requests++;
    return this.#onSubscription(name, (s) => ({ nacked: this.#delivery.nack(s, seqs, Date.now(), delay) }));
  }

  extend(name: string, seqs: number[], ackTimeout?: number): Result<{ extended: number }> {
    this.#requests++;
    return this.#onSubscription(name, (s) => ({
      extended: this.#delivery.extend(s, seqs, Date.now(), ackTimeout),
    }));
  }

  seek(name: string, to: SeekTarget): Result<{ cursor: number }> {
    this.#requests++;
    return this.#onSubscription(name, (s) => {
      const cursor = this.#cursorFor(typeof to === "number" ? { seq: to } : to);
      this.#delivery.seek(s, cursor);
      return { cursor };
    });
  }

  // ── WebSocket upgrades ──────────────────────────────────────────────────

  /** Accepts a WebSocket handed over by the worker (see ./upgrade.ts). */
  override async fetch(request: Request): Promise<Response> {
    this.#requests++;
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const response = this.#connections.open(request);
    this.#afterChange(false);
    return response;
  }

  // ── alarm ───────────────────────────────────────────────────────────────

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const now = Date.now();
    this.#transaction(() => runHousekeeping(this.#log, this.#delivery, now));
    this.#connections.closeExpired(now);
    await this.#housekeepAsync(now);
    this.#afterChange();
  }

  // ── WebSocket events ────────────────────────────────────────────────────

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#requests++;
    await this.#connections.message(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    close(ws, code, reason);
    this.#connections.gone(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#connections.gone(ws);
  }

  // ── private ─────────────────────────────────────────────────────────────

  /**
   * Runs `fn` in one SQLite transaction. If it throws, SQLite rolls back but the caches in
   * memory may have moved ahead of it: they are rebuilt from SQLite before the error goes on.
   */
  #transaction<T>(fn: () => T): T {
    try {
      return this.ctx.storage.transactionSync(fn);
    } catch (error) {
      this.#log.load();
      this.#subscriptions.load();
      this.#delivery.reload();
      throw error;
    }
  }

  /**
   * Stores a group of publishes in one transaction (see ./group-commit.ts). A topic is
   * listed by the time the publish that created it is answered (once per topic).
   */
  async #write(group: Publish[]): Promise<Result<PublishReceipt[]>[]> {
    const now = Date.now();
    let created = false;
    const results = this.#transaction(() => {
      created = !this.#log.meta;
      this.#ensure((group[0] as Publish).topic);
      // Appends cannot lower it: computed once for the whole group.
      const protectedFrom = this.#delivery.protectedFrom();
      const appended = group.map(({ messages }) =>
        this.#log.append(messages, now, protectedFrom, () => crypto.randomUUID()),
      );
      this.#log.saveCounters();
      return appended;
    });
    this.#afterChange();
    if (created) await this.#register();
    return results;
  }

  /** Creates the topic on first use. */
  #ensure(topic: string): TopicMeta {
    return (
      this.#log.meta ??
      this.#log.create(topic, Date.now(), crypto.randomUUID().replaceAll("-", "").slice(0, 16))
    );
  }

  async #register(): Promise<boolean> {
    const meta = this.#log.meta;
    if (!meta || meta.registered) return true;
    try {
      await this.env.REGISTRY.getByName("global").register(meta.name, meta.createdAt);
    } catch (error) {
      console.error(`topic ${meta.name} could not register; will retry`, error);
      return false;
    }
    if (this.#log.meta === meta) {
      meta.registered = true;
      this.#log.saveMeta();
    }
    return true;
  }

  async #housekeepAsync(now: number): Promise<void> {
    if (!this.#log.meta) return;
    let done = await this.#register();
    this.#deadLettersPending = this.#sql.number("SELECT COUNT(*) FROM dead_letters") !== 0;
    if (this.#deadLettersPending) {
      const moved = await moveDeadLetters(
        this.#sql,
        this.#log,
        this.#subscriptions,
        (topic, messages) => this.env.TOPIC.getByName(topic).publish(topic, messages),
        (fn) => this.#transaction(fn),
      );
      done = moved && done;
    }
    this.#retryAt = done ? 0 : now + RETRY_LATER_MS;
  }

  #onSubscription<T>(name: string, fn: (subscription: Subscription) => T): Result<T> {
    const subscription = this.#subscriptions.get(name);
    if (!subscription) return noSubscription(name);
    const value = this.#transaction(() => fn(subscription));
    this.#afterChange();
    return ok(value);
  }

  #cursorFor(start: NonNullable<SubscriptionConfigPatch["startAt"]>): number {
    const next = this.#log.counters.nextSeq;
    if (start === "latest") return next;
    if (start === "earliest") return this.#log.firstSeq() ?? next;
    if ("seq" in start) return Math.max(1, start.seq);
    return this.#log.seqAtTime(start.time);
  }

  /** After any change: wake long-polls and re-arm the alarm from SQL. */
  #afterChange(wake = true): void {
    this.#deadLettersPending = this.#sql.number("SELECT COUNT(*) FROM dead_letters") !== 0;
    if (wake) {
      this.#waiters.wake();
      this.#connections.pump();
    }
    const at = nextAlarm(this.#log, this.#delivery, {
      deadLetters: this.#deadLettersPending,
      registered: this.#log.meta?.registered ?? true,
      retryAt: this.#retryAt,
      now: Date.now(),
      socketExpiry: this.#connections.nextExpiry(),
    });
    if (at === this.#alarmAt) return;
    this.#alarmAt = at;
    if (at === null) void this.ctx.storage.deleteAlarm();
    else void this.ctx.storage.setAlarm(at);
  }

  #topicInfo(): TopicInfo {
    const usage = { ...this.#sql.usage, requests: this.#requests, since: this.#since };
    return topicInfo(this.#log, this.#subscriptions.size, usage);
  }

  #subscriptionInfo(subscription: Subscription): SubscriptionInfo {
    const consumers = this.#connections.consumers(subscription.name);
    return subscriptionInfo(this.#log, this.#delivery, subscription, consumers);
  }
}
