import type { RouteConfig, RouteStats } from "../protocol/topic-rpc";
import type { Sql } from "../storage/sql";

/** What a route has done since it was configured. */
export interface RouteCounters {
  forwarded: number;
  filtered: number;
  failed: number;
  deadLettered: number;
  looped: number;
}

/** A route's state, as cached in memory; the `routes` row is the truth. */
export interface RouteRow {
  name: string;
  /** The next seq to forward. */
  cursor: number;
  /** Tries of the message at the cursor that failed (0: none). */
  attempts: number;
  /** When the next try is due after a failure (0: now). */
  retryAt: number;
  counters: RouteCounters;
  lastError: RouteStats["lastError"];
}

const ZERO: RouteCounters = { forwarded: 0, filtered: 0, failed: 0, deadLettered: 0, looped: 0 };

/**
 * The `routes` table: per route of the topic's config, the next seq to forward and the retries
 * of the message there, mirrored in a map. A route's row is made when the route is configured
 * (starting at the next message published) and deleted when it leaves the config; the cursor
 * moves only after the target acknowledged what it passed (./route-forwarding.ts).
 */
export class RouteState {
  readonly #sql: Sql;
  readonly #rows = new Map<string, RouteRow>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  unload(): void {
    this.#rows.clear();
  }

  load(): void {
    this.#rows.clear();
    const rows = this.#sql.all<{
      name: string;
      cursor: number;
      attempts: number;
      retry_at: number;
      counters: string;
      last_error: string | null;
    }>("SELECT * FROM routes");
    for (const row of rows) {
      this.#rows.set(row.name, {
        name: row.name,
        cursor: row.cursor,
        attempts: row.attempts,
        retryAt: row.retry_at,
        counters: { ...ZERO, ...JSON.parse(row.counters) },
        lastError: row.last_error === null ? null : JSON.parse(row.last_error),
      });
    }
  }

  get(name: string): RouteRow | undefined {
    return this.#rows.get(name);
  }

  get size(): number {
    return this.#rows.size;
  }

  /** Makes the rows match the config: new routes start at `nextSeq`, removed ones are forgotten. */
  sync(routes: readonly RouteConfig[], nextSeq: number): void {
    const wanted = new Set(routes.map((route) => route.name));
    for (const name of [...this.#rows.keys()]) {
      if (wanted.has(name)) continue;
      this.#sql.run("DELETE FROM routes WHERE name = ?", name);
      this.#rows.delete(name);
    }
    for (const name of wanted) {
      if (this.#rows.has(name)) continue;
      const row: RouteRow = {
        name,
        cursor: nextSeq,
        attempts: 0,
        retryAt: 0,
        counters: { ...ZERO },
        lastError: null,
      };
      this.#rows.set(name, row);
      this.save(row);
    }
  }

  /** Persists a row: one write. */
  save(row: RouteRow): void {
    this.#sql.run(
      `INSERT INTO routes (name, cursor, attempts, retry_at, counters, last_error) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, attempts = excluded.attempts,
         retry_at = excluded.retry_at, counters = excluded.counters, last_error = excluded.last_error`,
      row.name,
      row.cursor,
      row.attempts,
      row.retryAt,
      JSON.stringify(row.counters),
      row.lastError === null ? null : JSON.stringify(row.lastError),
    );
  }

  /** The lowest seq a route has not forwarded: retention keeps it (`null`: no route). */
  lowestCursor(): number | null {
    let lowest: number | null = null;
    for (const row of this.#rows.values()) if (lowest === null || row.cursor < lowest) lowest = row.cursor;
    return lowest;
  }

  /** When forwarding is next due: now for a route behind, its retry time after a failure. */
  nextDue(nextSeq: number, now: number): number | null {
    let due: number | null = null;
    for (const row of this.#rows.values()) {
      if (row.cursor >= nextSeq) continue;
      const at = Math.max(row.retryAt, now);
      if (due === null || at < due) due = at;
    }
    return due;
  }

  /** Each configured route's progress, in the config's order. */
  stats(routes: readonly RouteConfig[], nextSeq: number): RouteStats[] {
    return routes.flatMap((route) => {
      const row = this.#rows.get(route.name);
      if (!row) return [];
      return [
        {
          name: route.name,
          lag: Math.max(0, nextSeq - row.cursor),
          cursor: row.cursor,
          ...row.counters,
          attempts: row.attempts,
          retryAt: row.retryAt > 0 ? row.retryAt : null,
          lastError: row.lastError,
        },
      ];
    });
  }
}
