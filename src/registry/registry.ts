import { DurableObject } from "cloudflare:workers";
import type { TopicListQuery, TopicPage } from "../protocol/registry";
import { migrate } from "../storage/migrate";
import { Sql } from "../storage/sql";
import { type VisibleRange, visibleRanges } from "./visible-ranges";

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

  /**
   * Topics in name order, `limit` at a time; pass the returned cursor to go on. With
   * `visibleTo`, only the names those patterns match are paged over (./visible-ranges.ts), so
   * neither a page nor its cursor names a topic the caller may not see.
   */
  list(query: TopicListQuery): TopicPage {
    const prefix = query.prefix ?? "";
    const after = query.cursor ?? "";
    const ranges: VisibleRange[] =
      query.visibleTo === undefined ? [{ kind: "prefix", prefix }] : visibleRanges(prefix, query.visibleTo);
    const rows: { name: string; created_at: number }[] = [];
    // One more row than asked tells whether another page follows.
    for (const range of ranges) {
      const wanted = query.limit + 1 - rows.length;
      if (wanted <= 0) break;
      rows.push(...this.#read(range, after, wanted));
    }
    const page = rows.slice(0, query.limit);
    return {
      topics: page.map((row) => ({ name: row.name, createdAt: row.created_at })),
      cursor: rows.length > query.limit ? (page.at(-1)?.name ?? null) : null,
    };
  }

  /** Up to `limit` names of one range after `after`, through the primary key. */
  #read(range: VisibleRange, after: string, limit: number): { name: string; created_at: number }[] {
    if (range.kind === "exact") {
      return this.#sql.all(
        "SELECT name, created_at FROM topics WHERE name = ? AND name > ?",
        range.name,
        after,
      );
    }
    // Names never contain U+FFFF, so prefix || U+FFFF bounds the prefix range; no LIKE, whose
    // `_` would match any character of a name.
    return this.#sql.all(
      "SELECT name, created_at FROM topics WHERE name >= ? AND name < ? AND name > ? ORDER BY name LIMIT ?",
      range.prefix,
      `${range.prefix}\uffff`,
      after,
      limit,
    );
  }
}
