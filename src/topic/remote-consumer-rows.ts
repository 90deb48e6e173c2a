import type { Sql } from "../storage/sql";

/** A consumer of one of the topic's subscriptions that lives in a session (an edge object). */
export interface RemoteConsumer {
  /** The lease holder: the session's name and the subscription's id there. */
  consumer: string;
  edge: string;
  subscription: string;
  maxInFlight: number;
}

/**
 * The `remote_consumers` table: the consumers sessions hold, kept so a topic that restarts still
 * pushes to them. Mirrored in memory; written when a session subscribes, changes its credit or
 * leaves, never per message.
 */
export class RemoteConsumerRows {
  readonly #sql: Sql;
  #all = new Map<string, RemoteConsumer>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  all(): RemoteConsumer[] {
    return [...this.#all.values()];
  }

  of(subscription: string): RemoteConsumer[] {
    return this.all().filter((c) => c.subscription === subscription);
  }

  put(consumer: RemoteConsumer): void {
    this.#sql.run(
      "INSERT OR REPLACE INTO remote_consumers (consumer, edge, subscription, max_in_flight) VALUES (?, ?, ?, ?)",
      consumer.consumer,
      consumer.edge,
      consumer.subscription,
      consumer.maxInFlight,
    );
    this.#all.set(consumer.consumer, consumer);
  }

  delete(consumer: string): boolean {
    if (!this.#all.delete(consumer)) return false;
    this.#sql.run("DELETE FROM remote_consumers WHERE consumer = ?", consumer);
    return true;
  }

  load(): void {
    this.#all = new Map();
    const rows = this.#sql.all<{
      consumer: string;
      edge: string;
      subscription: string;
      max_in_flight: number;
    }>("SELECT consumer, edge, subscription, max_in_flight FROM remote_consumers");
    for (const r of rows) {
      this.#all.set(r.consumer, {
        consumer: r.consumer,
        edge: r.edge,
        subscription: r.subscription,
        maxInFlight: r.max_in_flight,
      });
    }
  }

  unload(): void {
    this.#all = new Map();
  }
}
