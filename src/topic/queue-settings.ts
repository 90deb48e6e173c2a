import { DEFAULT_QUEUE_SETTINGS, type QueueSettings } from "../protocol/sqs-queue";
import type { Sql } from "../storage/sql";

/**
 * The `queue` table: the settings of the topic as an SQS queue, one row, mirrored in memory. A
 * topic whose queue was never given settings (its `sqs` subscription made through `/v1`) has
 * SQS's defaults.
 */
export class QueueSettingsRow {
  readonly #sql: Sql;
  #row: QueueSettings | null = null;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  load(): void {
    const row = this.#sql.one<{ value: string }>("SELECT value FROM queue WHERE key = 'settings'");
    // Rows written before FIFO queues lack its fields: the defaults fill them in.
    this.#row = row ? { ...DEFAULT_QUEUE_SETTINGS, ...JSON.parse(row.value) } : null;
  }

  unload(): void {
    this.#row = null;
  }

  /** The settings, or the defaults (changed at `createdAt`) when none were written. */
  current(createdAt: number): QueueSettings {
    return this.#row ?? { ...DEFAULT_QUEUE_SETTINGS, modifiedAt: createdAt };
  }

  save(settings: QueueSettings): void {
    this.#row = settings;
    this.#sql.run(
      "INSERT OR REPLACE INTO queue (key, value) VALUES ('settings', ?)",
      JSON.stringify(settings),
    );
  }
}
