import { fail, ok, type Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import { DEFAULT_SECRET_GRACE_MS } from "../protocol/push-config";
import type {
  SubscriptionConfigPatch,
  SubscriptionInfo,
  TopicConfigPatch,
  TopicInfo,
  TopicMetrics,
  TopicUsage,
} from "../protocol/topic-rpc";
import type { Changes } from "./changes";
import { DEFAULT_SUBSCRIPTION_CONFIG, mergeSubscriptionConfig, mergeTopicConfig } from "./config";
import { cursorFor } from "./consumer-verbs";
import { noSubscription, noTopic } from "./failures";
import { subscriptionInfo, topicInfo } from "./info";
import type { TopicMeta } from "./log";
import type { LongPolls } from "./long-polls";
import type { Registration } from "./registration";
import type { SocketEndpoint } from "./socket-endpoint";
import type { TopicStore } from "./store";
import type { Subscription } from "./subscriptions";

/**
 * Creating, configuring, describing and deleting the topic and its subscriptions (DESIGN.md §4).
 * A topic is created by its first config or subscription `PUT` (or publish), and is listed by
 * the time the request that created it is answered.
 */
export class TopicAdmin {
  readonly #name: string;
  readonly #store: TopicStore;
  readonly #changes: Changes;
  readonly #registration: Registration;
  readonly #endpoint: SocketEndpoint;
  readonly #polls: LongPolls;
  readonly #usage: () => TopicUsage;
  readonly #forgetPush: (subscription: string) => void;

  constructor(deps: {
    name: string;
    store: TopicStore;
    changes: Changes;
    registration: Registration;
    endpoint: SocketEndpoint;
    polls: LongPolls;
    usage: () => TopicUsage;
    /** A subscription was reconfigured or deleted: push forgets its pace. */
    forgetPush: (subscription: string) => void;
  }) {
    this.#forgetPush = deps.forgetPush;
    this.#name = deps.name;
    this.#store = deps.store;
    this.#changes = deps.changes;
    this.#registration = deps.registration;
    this.#endpoint = deps.endpoint;
    this.#polls = deps.polls;
    this.#usage = deps.usage;
  }

  async putConfig(patch: TopicConfigPatch): Promise<Result<{ created: boolean; topic: TopicInfo }>> {
    const created = !this.#store.meta;
    this.#changes.apply(() => {
      const meta = this.#store.ensure(this.#name, Date.now());
      meta.config = mergeTopicConfig(meta.config, patch);
      this.#store.log.saveMeta();
      // A new route starts at the next message published; a route taken out forgets its place.
      this.#store.routes.sync(meta.config.routes, this.#store.log.counters.nextSeq);
    });
    if (created) await this.#registration.register();
    return ok({ created, topic: this.#topicInfo() });
  }

  info(): Result<TopicInfo> {
    return this.#store.meta ? ok(this.#topicInfo()) : noTopic();
  }

  /** Deletes the topic and everything in it; a later publish starts a new epoch. */
  async destroy(): Promise<Result<{ deleted: true }>> {
    const meta = this.#store.meta;
    if (!meta) return noTopic();
    this.#endpoint.closeTopic();
    await this.#endpoint.closeRelays();
    await this.#store.erase();
    this.#polls.wakeAll();
    this.#changes.react();
    await this.#registration.unregister(meta.name, meta.createdAt);
    return ok({ deleted: true });
  }

  /**
   * Creates or reconfigures a subscription. A push config gets a signing secret the first time
   * (and a new one with `rotateSecret`): it is answered here, once, as `secret`, and never shown
   * again.
   */
  async putSubscription(
    name: string,
    patch: SubscriptionConfigPatch,
  ): Promise<Result<{ created: boolean; subscription: SubscriptionInfo; secret?: string }>> {
    const { subscriptions, pushState } = this.#store;
    const existing = subscriptions.get(name);
    if (!existing && subscriptions.size >= LIMITS.subscriptionsPerTopic) {
      return fail("conflict", `a topic has at most ${LIMITS.subscriptionsPerTopic} subscriptions`);
    }
    const base = existing?.config ?? mergeSubscriptionConfig(DEFAULT_SUBSCRIPTION_CONFIG, {});
    const push = mergeSubscriptionConfig(base, patch).push;
    if (push && push.url === null && push.service === null) {
      return fail("invalid_request", "push must have a url or a service");
    }
    if (patch.push?.rotateSecret && !push) {
      return fail("invalid_request", "push.rotateSecret needs a push subscription");
    }
    const topicCreated = !this.#store.meta;
    const secret = this.#changes.apply(() => {
      const now = Date.now();
      this.#store.ensure(this.#name, now);
      if (existing) {
        subscriptions.configure(existing, patch);
        this.#store.delivery.backlog.forget(name); // its filter may have changed
      } else subscriptions.create(name, now, cursorFor(this.#store, patch.startAt ?? "latest"), patch);
      if (!push) return null;
      const grace = patch.push?.secretGrace ?? DEFAULT_SECRET_GRACE_MS;
      return pushState.ensureSecret(name, now, patch.push?.rotateSecret === true, grace);
    });
    this.#forgetPush(name);
    if (topicCreated) await this.#registration.register();
    const subscription = subscriptions.get(name) as Subscription;
    const info = this.#subscriptionInfo(subscription);
    return ok({ created: !existing, subscription: info, ...(secret ? { secret } : {}) });
  }

  getSubscription(name: string): Result<SubscriptionInfo> {
    const subscription = this.#store.subscriptions.get(name);
    return subscription ? ok(this.#subscriptionInfo(subscription)) : noSubscription(name);
  }

  deleteSubscription(name: string): Result<{ deleted: true }> {
    const { subscriptions, delivery } = this.#store;
    if (!subscriptions.get(name)) return noSubscription(name);
    this.#changes.apply(() => {
      subscriptions.delete(name);
      delivery.forget(name);
      delivery.backlog.forget(name);
      this.#store.pushState.delete(name);
      this.#store.redrives.delete(name);
    });
    this.#forgetPush(name);
    this.#endpoint.closeSubscription(name);
    this.#polls.wakeAll(name);
    return ok({ deleted: true });
  }

  listSubscriptions(): Result<{ subscriptions: SubscriptionInfo[] }> {
    if (!this.#store.meta) return noTopic();
    const all = this.#store.subscriptions.all();
    return ok({ subscriptions: all.map((s) => this.#subscriptionInfo(s)) });
  }

  /** The topic's numbers and its subscriptions', without config (`/v1/metrics`, ./analytics.ts). */
  metrics(): Result<TopicMetrics> {
    if (!this.#store.meta) return noTopic();
    const { config: _config, ...topic } = this.#topicInfo();
    const subscriptions = this.#store.subscriptions.all().map((s) => {
      const { config: _subscriptionConfig, ...rest } = this.#subscriptionInfo(s);
      return rest;
    });
    return ok({ topic, subscriptions });
  }

  /** Every topic messages of this one are copied into: by dead letters, by routes. */
  copiesTo(): Result<string[]> {
    const meta = this.#store.meta;
    if (!meta) return noTopic();
    const targets = new Set<string>();
    for (const { config } of this.#store.subscriptions.all()) {
      if (config.deadLetterTopic !== null) targets.add(config.deadLetterTopic);
    }
    for (const route of meta.config.routes) {
      targets.add(route.to);
      if (route.deadLetterTopic !== null) targets.add(route.deadLetterTopic);
    }
    return ok([...targets]);
  }

  #topicInfo(): TopicInfo {
    const { log, routes } = this.#store;
    const live = {
      subscriptions: this.#store.subscriptions.size,
      sockets: this.#endpoint.sockets,
      relays: this.#endpoint.relays,
      longPolls: this.#polls.waiters.size,
      routes: routes.stats((log.meta as TopicMeta).config.routes, log.counters.nextSeq),
    };
    return topicInfo(this.#store.log, live, this.#usage());
  }

  #subscriptionInfo(subscription: Subscription): SubscriptionInfo {
    const live = {
      consumers: this.#endpoint.consumers(subscription.name),
      rates: this.#store.subscriptions.rates.rates(subscription.name, Date.now()),
    };
    const info = subscriptionInfo(this.#store.log, this.#store.delivery, subscription, live);
    if (subscription.config.push) info.stats.push = this.#store.pushState.health(subscription.name);
    return info;
  }
}
