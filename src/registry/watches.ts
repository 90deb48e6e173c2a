import type { Sql } from "../storage/sql";

/** Most topics a watch answers with when it is made (the topics that match already). */
export const MAX_MATCHES = 128;

/**
 * The `watches` table: edge objects (sessions) that want to hear of topics created under a
 * pattern — an exact name that does not exist yet (a live tail opened first) or a prefix
 * (`chat.room-*`). A topic's creation reads the watches of its name and of each of its
 * prefixes (at most 129 keys of the primary key), so a watch costs a publish nothing and a
 * creation a bounded read.
 */
export class Watches {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Records a watch; answers the topics the pattern matches now (at most MAX_MATCHES). */
  add(edge: string, pattern: string): string[] {
    this.#sql.run("INSERT OR IGNORE INTO watches (pattern, edge) VALUES (?, ?)", pattern, edge);
    if (!pattern.endsWith("*")) {
      return this.#sql
        .all<{ name: string }>("SELECT name FROM topics WHERE name = ?", pattern)
        .map((r) => r.name);
    }
    const prefix = pattern.slice(0, -1);
    // Names never contain U+FFFF, so prefix || U+FFFF bounds the prefix range.
    return this.#sql
      .all<{ name: string }>(
        "SELECT name FROM topics WHERE name >= ? AND name < ? ORDER BY name LIMIT ?",
        prefix,
        `${prefix}\uffff`,
        MAX_MATCHES,
      )
      .map((r) => r.name);
  }

  remove(edge: string, pattern: string): void {
    this.#sql.run("DELETE FROM watches WHERE pattern = ? AND edge = ?", pattern, edge);
  }

  /** The edge objects watching a topic's name or one of its prefixes. */
  watchers(name: string): { edge: string; pattern: string }[] {
    const keys = [name];
    for (let i = 0; i <= name.length; i++) keys.push(`${name.slice(0, i)}*`);
    return this.#sql.all<{ edge: string; pattern: string }>(
      "SELECT edge, pattern FROM watches WHERE pattern IN (SELECT value FROM json_each(?))",
      JSON.stringify(keys),
    );
  }
}
