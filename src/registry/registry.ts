import { DurableObject } from "cloudflare:workers";

export interface TopicListing {
  name: string;
  createdAt: number;
}

/**
 * The catalogue of topics, for listing. Each topic tells it once when it is
 * created and once when it is deleted — never on the publish path.
 */
export class Registry extends DurableObject<Env> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID",
    );
  }

  register(name: string, createdAt: number): void {
    this.#sql.exec("INSERT OR REPLACE INTO topics (name, created_at) VALUES (?, ?)", name, createdAt);
  }

  unregister(name: string, createdAt: number): void {
    // Only forget the incarnation that was deleted: a topic re-created in the
    // meantime registered itself again with a newer createdAt.
    this.#sql.exec("DELETE FROM topics WHERE name = ? AND created_at <= ?", name, createdAt);
  }

  /** Topics in name order, `limit` at a time; pass the returned cursor to go on. */
  list(options: { prefix?: string; cursor?: string; limit: number }): {
    topics: TopicListing[];
    cursor: string | null;
  } {
    const prefix = options.prefix ?? "";
    const after = options.cursor && options.cursor > prefix ? options.cursor : "";
    // Names never contain U+FFFF, so prefix || U+FFFF bounds the prefix range.
    const rows = this.#sql
      .exec<{ name: string; created_at: number }>(
        "SELECT name, created_at FROM topics WHERE name >= ? AND name < ? AND name > ? ORDER BY name LIMIT ?",
        prefix,
        `${prefix}\uffff`,
        after,
        options.limit + 1,
      )
      .toArray();
    const page = rows.slice(0, options.limit);
    return {
      topics: page.map((row) => ({ name: row.name, createdAt: row.created_at })),
      cursor: rows.length > options.limit ? (page.at(-1)?.name ?? null) : null,
    };
  }
}
