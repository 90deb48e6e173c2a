/**
 * Thin typed helpers over `ctx.storage.sql`. Statements are plain strings with
 * `?` bindings: the queries are few and fixed, so a query builder would only
 * hide what SQLite is asked to do.
 */
export type SqlValue = string | number | null | ArrayBuffer | Uint8Array;
type Row = Record<string, SqlStorageValue>;

/**
 * A list of numbers as one JSON binding, for `IN (SELECT value FROM json_each(?))`: a
 * statement takes one binding however many seqs it names.
 *
 * @example
 * sql.run("DELETE FROM retries WHERE seq IN (SELECT value FROM json_each(?))", json([3, 5, 8]));
 */
export const json = (values: Iterable<number>): string => JSON.stringify([...values]);

export class Sql {
  readonly #sql: SqlStorage;
  /**
   * Rows read and written since the object started (what SQLite storage is billed by), and the
   * statements run (what its CPU time mostly goes to).
   */
  readonly usage = { rowsRead: 0, rowsWritten: 0, statements: 0 };

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Runs a statement and returns every row. */
  all<T extends Row>(query: string, ...bindings: SqlValue[]): T[] {
    return this.#count(this.#sql.exec<T>(query, ...bindings));
  }

  /** Runs a statement and returns its first row, if any. */
  one<T extends Row>(query: string, ...bindings: SqlValue[]): T | undefined {
    return this.#count(this.#sql.exec<T>(query, ...bindings))[0];
  }

  /** Runs a statement for its effect and returns the number of rows written. */
  run(query: string, ...bindings: SqlValue[]): number {
    const cursor = this.#sql.exec(query, ...bindings);
    this.#count(cursor);
    return cursor.rowsWritten;
  }

  /** Runs a statement that yields a single number (COUNT, MIN, …); `null` for SQL NULL. */
  number(query: string, ...bindings: SqlValue[]): number | null {
    const row = this.#count(this.#sql.exec(query, ...bindings))[0];
    if (!row) return null;
    const value = Object.values(row)[0];
    return typeof value === "number" ? value : null;
  }

  #count<T extends Row>(cursor: SqlStorageCursor<T>): T[] {
    const rows = cursor.toArray();
    this.usage.statements++;
    this.usage.rowsRead += cursor.rowsRead;
    this.usage.rowsWritten += cursor.rowsWritten;
    return rows;
  }
}
