import { type ConsumerBatch, remoteConsumer } from "../protocol/edge-rpc";
import { fail, ok, type Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import { logLine } from "../protocol/log";
import type { Changes } from "./changes";
import type { ConsumerVerbs } from "./consumer-verbs";
import { noSubscription, noTopic } from "./failures";
import { messagesFrame } from "./push";
import type { RemoteConsumer } from "./remote-consumer-rows";
import type { TopicStore } from "./store";

/** Most messages in one batch pushed to a session's consumer. */
const CHUNK = 100;

/**
 * Consumers that live in sessions (DESIGN.md §5, "Sessions"): the topic still owns their leases
 * and credit, and pushes each a batch by RPC, one at a time, within its credit. A session that
 * cannot take a batch is dropped and what it held goes to the other consumers at once, as when a
 * consumer's socket closes; the session subscribes again when its client reconnects.
 */
export class RemoteConsumers {
  readonly #topic: string;
  readonly #store: TopicStore;
  readonly #edges: Env["EDGE"];
  readonly #verbs: ConsumerVerbs;
  readonly #changes: Changes;
  readonly #busy = new Set<string>();
  /**
   * Consumers known to be held by a session since this object started. One loaded from SQLite
   * after a restart may belong to a session whose socket is gone (a restart of the runtime closes
   * every socket): it is asked before anything is leased to it, so nothing is leased to nobody.
   */
  readonly #verified = new Set<string>();

  constructor(deps: {
    topic: string;
    store: TopicStore;
    edges: Env["EDGE"];
    verbs: ConsumerVerbs;
    changes: Changes;
  }) {
    this.#topic = deps.topic;
    this.#store = deps.store;
    this.#edges = deps.edges;
    this.#verbs = deps.verbs;
    this.#changes = deps.changes;
  }

  /** How many consumers of a subscription live in sessions. */
  count(subscription: string): number {
    return this.#store.meta ? this.#store.remoteConsumers.of(subscription).length : 0;
  }

  /** A session's subscription `id` consumes `subscription` with `maxInFlight` credit. */
  attach(edge: string, id: string, subscription: string, maxInFlight: number): Result<{ epoch: string }> {
    const meta = this.#store.meta;
    if (!meta) return noTopic();
    if (!this.#store.subscriptions.get(subscription)) return noSubscription(subscription);
    const consumer = remoteConsumer(edge, id);
    this.#verified.add(consumer);
    this.#changes.apply(
      () => this.#store.remoteConsumers.put({ consumer, edge, subscription, maxInFlight }),
      "sockets",
    );
    return ok({ epoch: meta.epoch });
  }

  /** A session's consumer changed its credit. */
  flow(consumer: string, maxInFlight: number): Result<null> {
    const current = this.#store.meta
      ? this.#store.remoteConsumers.all().find((c) => c.consumer === consumer)
      : undefined;
    if (!current) return fail("not_found", "no such consumer on this topic");
    this.#changes.apply(() => this.#store.remoteConsumers.put({ ...current, maxInFlight }), "sockets");
    return ok(null);
  }

  /** A session's consumer is gone (unsubscribed, its socket closed): what it held goes to the others. */
  detach(consumer: string, release = true): void {
    this.#verified.delete(consumer);
    if (!this.#store.meta) return;
    this.#store.transaction(() => this.#store.remoteConsumers.delete(consumer));
    if (release) this.#verbs.release(consumer);
  }

  /** Pushes each session's consumer what its subscription has, within its credit. */
  pump(): void {
    const meta = this.#store.meta;
    if (!meta) return;
    const { subscriptions, delivery, remoteConsumers } = this.#store;
    const now = Date.now();
    for (const rc of remoteConsumers.all()) {
      if (this.#busy.has(rc.consumer)) continue;
      if (!this.#verified.has(rc.consumer)) {
        this.#verify(rc);
        continue;
      }
      const subscription = subscriptions.get(rc.subscription);
      if (!subscription) {
        this.#drop(rc, "the subscription was deleted");
        continue;
      }
      const held = delivery.inFlightBy(rc.subscription).get(rc.consumer) ?? 0;
      const credit = Math.min(CHUNK, rc.maxInFlight - held);
      if (credit <= 0) continue;
      const batch = this.#store.transaction(() =>
        delivery.deliver(subscription, credit, now, rc.consumer, LIMITS.pushFrameBytes),
      );
      if (batch.length === 0) continue;
      const message: ConsumerBatch = {
        topic: this.#topic,
        subscription: rc.subscription,
        consumer: rc.consumer,
        epoch: meta.epoch,
        frame: JSON.stringify(messagesFrame(batch)),
      };
      this.#busy.add(rc.consumer);
      this.#edges
        .getByName(rc.edge)
        .consume(message)
        .then(
          (held) => {
            this.#busy.delete(rc.consumer);
            if (!held) this.#drop(rc);
            else this.#changes.react("sockets");
          },
          (error: unknown) => {
            this.#busy.delete(rc.consumer);
            logLine(
              "warn",
              "consumer unreachable; releasing its messages",
              { topic: this.#topic, consumer: rc.consumer },
              error,
            );
            this.#drop(rc);
          },
        );
    }
  }

  /** Asks a consumer's session whether it still holds it; forgets it when not. */
  #verify(rc: RemoteConsumer): void {
    this.#busy.add(rc.consumer);
    this.#edges
      .getByName(rc.edge)
      .holds(rc.consumer)
      .then(
        (held) => {
          this.#busy.delete(rc.consumer);
          if (!held) return this.#forget(rc);
          this.#verified.add(rc.consumer);
          this.#changes.react("sockets");
        },
        () => {
          this.#busy.delete(rc.consumer);
          this.#forget(rc);
        },
      );
  }

  /**
   * Forgets a consumer whose session is gone since before this object started (a restart of the
   * runtime): what it held is not handed over at once but comes back when its leases expire, as
   * for a socket of the topic's own lost in a restart — a client that reconnects meanwhile acks it.
   */
  #forget(rc: RemoteConsumer): void {
    this.#verified.delete(rc.consumer);
    if (this.#store.meta) this.#store.transaction(() => this.#store.remoteConsumers.delete(rc.consumer));
  }

  /** The sessions holding consumers of the topic (told when it is deleted). */
  edges(): string[] {
    return this.#store.meta ? [...new Set(this.#store.remoteConsumers.all().map((c) => c.edge))] : [];
  }

  /** Forgets a consumer; with `why`, its session is told its subscription ended. */
  #drop(rc: RemoteConsumer, why?: string): void {
    this.detach(rc.consumer);
    if (why === undefined) return;
    const stub = this.#edges.getByName(rc.edge);
    void stub.ended(rc.consumer, "not_found", why).catch(() => {});
  }
}
