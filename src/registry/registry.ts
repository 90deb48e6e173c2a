import { DurableObject } from "cloudflare:workers";
import type { TopicListQuery, TopicPage } from "../protocol/registry";
import { migrate } from "../storage/migrate";
import { Sql } from "../storage/sql";
import { type VisibleRange, visibleRanges } from "./visible-ranges";
import { Watches } from "./watches";

/**
 * Append-only numbered migrations of the catalogue's database (see ../storage/migrate.ts).
 * The first adopts a catalogue created before migrations were numbered, which already has the
 * table: hence `IF NOT EXISTS` there, and only there.
 */
export const REGISTRY_MIGRATIONS: readonly string[] = [
  // 1: one row per topic.
  "CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;",
  // 2: sessions waiting for topics to be created (./watches.ts).
  "CREATE TABLE watches (pattern TEXT NOT NULL, edge TEXT NOT NULL, PRIMARY KEY (pattern, edge)) WITHOUT ROWID;",
];

/**
 * The catalogue of topics, for listing. Each topic tells it once when it is
 * created and once when it is deleted — never on the publish path. Sessions that wait for a
 * topic, or follow a prefix pattern, are told when a matching topic is created.
 */
export class Registry extends DurableObject<Env> {
  readonly #sql: Sql;
  readonly #watches: Watches;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = new Sql(ctx.storage.sql);
    migrate(this.#sql, (fn) => ctx.storage.transactionSync(fn), REGISTRY_MIGRATIONS, "registry");
    this.#watches = new Watches(this.#sql);
  }

  register(name: string, createdAt: number): void {
    this.#sql.run("INSERT OR REPLACE INTO topics (name, created_at) VALUES (?, ?)", name, createdAt);
    // Told after the topic is listed, and not awaited: the creating publish does not wait on sessions.
    const watchers = this.#watches.watchers(name);
    if (watchers.length > 0) this.ctx.waitUntil(this.#notify(name, watchers));
  }

  /**
   * An edge object wants to hear of topics created under `pattern` (an exact name or a prefix
   * ending in `*`); answers the ones that exist already, at most 128.
   */
  watch(edge: string, pattern: string): string[] {
    return this.#watches.add(edge, pattern);
  }

  unwatch(edge: string, pattern: string): void {
    this.#watches.remove(edge, pattern);
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

  /** Tells each watcher of a new topic; a watcher that no longer wants it is forgotten. */
  async #notify(name: string, watchers: { edge: string; pattern: string }[]): Promise<void> {
    await Promise.allSettled(
      watchers.map(async ({ edge, pattern }) => {
        const wanted = await this.env.EDGE.getByName(edge).topicCreated(name, pattern);
        if (!wanted) this.#watches.remove(edge, pattern);
      }),
    );
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
