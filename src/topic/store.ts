import { migrate } from "../storage/migrate";
import { Sql } from "../storage/sql";
import { Delivery } from "./delivery";
import { Log, type TopicMeta } from "./log";
import { MIGRATIONS } from "./migrations";
import { Subscriptions } from "./subscriptions";

/**
 * A topic's SQLite database: its schema, the module that owns each table, and the caches they
 * mirror in memory. Memory is only a cache: `load()` rebuilds it from SQLite, which a failed
 * transaction and `erase()` rely on.
 *
 * | table | owner |
 * | --- | --- |
 * | `meta`, `messages` | ./log.ts |
 * | `dedup` | ./idempotency-keys.ts |
 * | `subscriptions` | ./subscriptions.ts |
 * | `leases` | ./leases.ts |
 * | `retries` | ./retries.ts |
 * | `dead_letters` | ./dead-letters.ts |
 */
export class TopicStore {
  readonly sql: Sql;
  readonly log: Log;
  readonly subscriptions: Subscriptions;
  readonly delivery: Delivery;
  readonly #storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.sql = new Sql(storage.sql);
    this.#migrate();
    this.log = new Log(this.sql);
    this.subscriptions = new Subscriptions(this.sql);
    this.delivery = new Delivery(this.sql, this.log, this.subscriptions);
    this.load();
  }

  /** The topic, or `null` while it does not exist. */
  get meta(): TopicMeta | null {
    return this.log.meta;
  }

  /**
   * Runs `fn` in one SQLite transaction. If it throws, SQLite rolls back, but the caches in
   * memory may have moved ahead of it: they are rebuilt before the error goes on.
   */
  transaction<T>(fn: () => T): T {
    try {
      return this.#storage.transactionSync(fn);
    } catch (error) {
      this.load();
      throw error;
    }
  }

  /** Creates the topic on first use (inside the caller's transaction). */
  ensure(name: string, now: number): TopicMeta {
    return this.log.meta ?? this.log.create(name, now, crypto.randomUUID().replaceAll("-", "").slice(0, 16));
  }

  /** Deletes everything the object stores, its alarm included; the topic no longer exists. */
  async erase(): Promise<void> {
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    this.#migrate();
    this.load();
  }

  load(): void {
    this.log.load();
    this.subscriptions.load();
    this.delivery.load();
  }

  #migrate(): void {
    migrate(this.sql, (fn) => this.#storage.transactionSync(fn), MIGRATIONS, "topic");
  }
}
