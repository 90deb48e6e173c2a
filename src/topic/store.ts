import { migrate, schemaVersion } from "../storage/migrate";
import { Sql } from "../storage/sql";
import { Delivery } from "./delivery";
import { Log, type TopicMeta } from "./log";
import { MIGRATIONS } from "./migrations";
import { Producers } from "./producers";
import { PushState } from "./push-state";
import { QueueSettingsRow } from "./queue-settings";
import { RedrivePositions } from "./redrive-positions";
import { RelayRows } from "./relay-rows";
import { RemoteConsumerRows } from "./remote-consumer-rows";
import { RouteState } from "./route-state";
import { StreamStates } from "./stream-state";
import { Subscriptions } from "./subscriptions";

/**
 * A topic's SQLite database: its schema, the module that owns each table, and the caches they
 * mirror in memory. Memory is only a cache: `load()` rebuilds it from SQLite, which a failed
 * transaction and `erase()` rely on.
 *
 * An object whose topic does not exist writes nothing, not even its schema: a read of a missing
 * topic (a 404) must cost no storage. The schema is created with the topic, in the transaction
 * that creates it.
 *
 * | table | owner |
 * | --- | --- |
 * | `meta`, `messages` | ./log.ts |
 * | `dedup` | ./idempotency-keys.ts |
 * | `subscriptions` | ./subscriptions.ts |
 * | `leases` | ./leases.ts |
 * | `retries` | ./retries.ts |
 * | `dead_letters` | ./dead-letters.ts |
 * | `push_state` | ./push-state.ts |
 * | `redrives` | ./redrive-positions.ts |
 * | `stream` | ./stream-state.ts |
 * | `producers` | ./producers.ts |
 * | `routes` | ./route-state.ts |
 * | `relays` | ./relay-rows.ts |
 * | `remote_consumers` | ./remote-consumer-rows.ts |
 * | `queue` | ./queue-settings.ts |
 */
export class TopicStore {
  readonly sql: Sql;
  readonly log: Log;
  readonly subscriptions: Subscriptions;
  readonly delivery: Delivery;
  readonly pushState: PushState;
  readonly redrives: RedrivePositions;
  readonly stream: StreamStates;
  readonly producers: Producers;
  readonly routes: RouteState;
  readonly relays: RelayRows;
  readonly remoteConsumers: RemoteConsumerRows;
  readonly queue: QueueSettingsRow;
  readonly #storage: DurableObjectStorage;
  /** Whether the database has a schema (the topic exists, or existed before this code ran). */
  #hasSchema: boolean;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.sql = new Sql(storage.sql);
    this.#hasSchema = schemaVersion(this.sql) !== null;
    // An existing database is brought up to date at once; a new one waits for its topic.
    if (this.#hasSchema) migrate(this.sql, (fn) => storage.transactionSync(fn), MIGRATIONS, "topic");
    this.log = new Log(this.sql);
    this.subscriptions = new Subscriptions(this.sql);
    this.delivery = new Delivery(this.sql, this.log, this.subscriptions);
    this.pushState = new PushState(this.sql);
    this.redrives = new RedrivePositions(this.sql);
    this.stream = new StreamStates(this.sql);
    this.producers = new Producers(this.sql);
    this.routes = new RouteState(this.sql);
    this.relays = new RelayRows(this.sql);
    this.remoteConsumers = new RemoteConsumerRows(this.sql);
    this.queue = new QueueSettingsRow(this.sql);
    this.load();
  }

  /**
   * The lowest seq some subscription or route still needs: retention keeps it and everything
   * after it (under `reject`).
   */
  protectedFrom(): number {
    return Math.min(this.delivery.protectedFrom(), this.routes.lowestCursor() ?? Number.MAX_SAFE_INTEGER);
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

  /**
   * Creates the topic on first use, with its schema when the database has none, inside the
   * caller's transaction: a creation that fails leaves nothing behind.
   */
  ensure(name: string, now: number): TopicMeta {
    if (this.log.meta) return this.log.meta;
    if (!this.#hasSchema) {
      migrate(this.sql, (fn) => fn(), MIGRATIONS, "topic");
      this.#hasSchema = true;
    }
    return this.log.create(name, now, crypto.randomUUID().replaceAll("-", "").slice(0, 16));
  }

  /** Deletes everything the object stores, its alarm included; the topic no longer exists. */
  async erase(): Promise<void> {
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    this.load();
  }

  load(): void {
    this.#hasSchema = schemaVersion(this.sql) !== null;
    if (!this.#hasSchema) {
      this.log.unload();
      this.subscriptions.unload();
      this.delivery.unload();
      this.pushState.unload();
      this.stream.unload();
      this.routes.unload();
      this.relays.unload();
      this.remoteConsumers.unload();
      this.queue.unload();
      return;
    }
    this.log.load();
    this.subscriptions.load();
    this.delivery.load();
    this.pushState.load();
    this.stream.load();
    this.routes.load();
    this.relays.load();
    this.remoteConsumers.load();
    this.queue.load();
  }
}
