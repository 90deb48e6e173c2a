import { DurableObject } from "cloudflare:workers";
import type { TopicListing } from "../protocol/registry";
import { migrate } from "../storage/migrate";
import { Sql } from "../storage/sql";

/**
 * Append-only numbered migrations of the catalogue's database (see ../storage/migrate.ts).
 * The first adopts a catalogue created before migrations were numbered, which already has the
 * table: hence `IF NOT EXISTS` there, and only there.
 */
export const REGISTRY_MIGRATIONS: readonly string[] = [
  // 1: one row per topic.
  "CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;",
];

/**
 * The catalogue of topics, for listing. Each topic tells it once when it is
 * created and once when it is deleted — never on the publish path.
 */
export class Registry extends DurableObject<Env> {
  readonly #sql: Sql;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = new Sql(ctx.storage.sql);
    migrate(this.#sql, (fn) => ctx.storage.transactionSync(fn), REGISTRY_MIGRATIONS, "registry");
  }

  register(name: string, createdAt: number): void {
    this.#sql.run("INSERT OR REPLACE INTO topics (name, created_at) VALUES (?, ?)", name, createdAt);
  }

  unregister(name: string, createdAt: number): void {
    // Only forget the incarnation that was deleted: a topic re-created in the
    // meantime registered itself again with a newer createdAt.
    this.#sql.run("DELETE FROM topics WHERE name = ? AND created_at <= ?", name, createdAt);
  }

  /** Topics in name order, `limit` at a time; pass the returned cursor to go on. */
  list(options: { prefix?: string; cursor?: string; limit: number }): {
    topics: TopicListing[];
    cursor: string | null;
  } {
    const prefix = options.prefix ?? "";
    const after = options.cursor && options.cursor > prefix ? options.cursor : "";
    // Names never contain U+FFFF, so prefix || U+FFFF bounds the prefix range.
    const rows = this.#sql.all<{ name: string; created_at: number }>(
      "SELECT name, created_at FROM topics WHERE name >= ? AND name < ? AND name > ? ORDER BY name LIMIT ?",
      prefix,
      `${prefix}\uffff`,
      after,
      options.limit + 1,
    );
    const page = rows.slice(0, options.limit);
    return {
      topics: page.map((row) => ({ name: row.name, createdAt: row.created_at })),
      cursor: rows.length > options.limit ? (page.at(-1)?.name ?? null) : null,
    };
  }
}
