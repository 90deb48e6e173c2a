import type {
  SubscriptionConfig,
  SubscriptionConfigPatch,
  SubscriptionCounters,
} from "../protocol/topic-rpc";
import type { Sql } from "../storage/sql";
import { DEFAULT_SUBSCRIPTION_CONFIG, mergeSubscriptionConfig } from "./config";
import { SubscriptionRates } from "./rates";

/** A subscription as cached in memory; the `subscriptions` row is the truth. */
export interface Subscription {
  name: string;
  createdAt: number;
  config: SubscriptionConfig;
  /** Next seq to deliver for the first time. */
  cursor: number;
  counters: SubscriptionCounters;
}

const ZERO: SubscriptionCounters = {
  delivered: 0,
  redelivered: 0,
  acked: 0,
  nacked: 0,
  deadLettered: 0,
  discarded: 0,
  expired: 0,
  purged: 0,
  redriven: 0,
};

/** The subscriptions of one topic: rows in SQLite, mirrored in a map. */
export class Subscriptions {
  readonly #sql: Sql;
  readonly #byName = new Map<string, Subscription>();
  /** Deliveries and acks per second, fed each time a subscription's counters are written. */
  readonly rates = new SubscriptionRates();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Forgets what memory holds: the database has no topic. */
  unload(): void {
    this.#byName.clear();
    this.rates.clear();
  }

  load(): void {
    this.#byName.clear();
    const rows = this.#sql.all<{
      name: string;
      created_at: number;
      config: string;
      cursor: number;
      counters: string;
    }>("SELECT * FROM subscriptions ORDER BY name");
    for (const row of rows) {
      this.#byName.set(row.name, {
        name: row.name,
        createdAt: row.created_at,
        config: { ...DEFAULT_SUBSCRIPTION_CONFIG, ...JSON.parse(row.config) },
        cursor: row.cursor,
        counters: { ...ZERO, ...JSON.parse(row.counters) },
      });
    }
    const now = Date.now();
    for (const subscription of this.#byName.values())
      this.rates.observe(subscription.name, subscription.counters, now);
  }

  get(name: string): Subscription | undefined {
    return this.#byName.get(name);
  }

  all(): Subscription[] {
    return [...this.#byName.values()];
  }

  get size(): number {
    return this.#byName.size;
  }

  create(name: string, now: number, cursor: number, patch: SubscriptionConfigPatch): Subscription {
    const subscription: Subscription = {
      name,
      createdAt: now,
      config: mergeSubscriptionConfig(DEFAULT_SUBSCRIPTION_CONFIG, patch),
      cursor,
      counters: { ...ZERO },
    };
    this.#sql.run(
      "INSERT INTO subscriptions (name, created_at, config, cursor, counters) VALUES (?, ?, ?, ?, ?)",
      name,
      now,
      JSON.stringify(subscription.config),
      cursor,
      JSON.stringify(subscription.counters),
    );
    this.#byName.set(name, subscription);
    this.rates.observe(name, subscription.counters, now);
    return subscription;
  }

  configure(subscription: Subscription, patch: SubscriptionConfigPatch): void {
    subscription.config = mergeSubscriptionConfig(subscription.config, patch);
    this.#sql.run(
      "UPDATE subscriptions SET config = ? WHERE name = ?",
      JSON.stringify(subscription.config),
      subscription.name,
    );
  }

  /** Persists the cursor and counters: one row write. */
  save(subscription: Subscription): void {
    this.#sql.run(
      "UPDATE subscriptions SET cursor = ?, counters = ? WHERE name = ?",
      subscription.cursor,
      JSON.stringify(subscription.counters),
      subscription.name,
    );
    this.rates.observe(subscription.name, subscription.counters, Date.now());
  }

  /** Deletes the subscription's row; its delivery state is the caller's (`Delivery.forget`). */
  delete(name: string): boolean {
    if (!this.#byName.delete(name)) return false;
    this.rates.forget(name);
    this.#sql.run("DELETE FROM subscriptions WHERE name = ?", name);
    return true;
  }
}
