import type { Sql } from "./sql";

/**
 * The schema version a database is at, or `null` for a database no migration has touched (a
 * Durable Object that has never stored anything).
 */
export function schemaVersion(sql: Sql): number | null {
  const table = sql.one("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!table) return null;
  return sql.number("SELECT version FROM schema_version") ?? 0;
}

/**
 * Brings a database up to the last of `migrations`: append-only, numbered SQL scripts, each run in
 * its own transaction with the new version number, so a failure leaves the database at the
 * version before it. Returns the version found (0 for a fresh database).
 *
 * @throws when the database is newer than `migrations`: code that does not know a schema could
 * silently corrupt it, so an older release refuses to run on a newer one.
 * @example
 * migrate(sql, (fn) => ctx.storage.transactionSync(fn), MIGRATIONS, "topic");
 */
export function migrate(
  sql: Sql,
  transaction: (fn: () => void) => void,
  migrations: readonly string[],
  what: string,
): number {
  const found = schemaVersion(sql) ?? 0;
  if (found > migrations.length) {
    throw new Error(
      `${what} database is at schema version ${found}, newer than this code knows (${migrations.length}); deploy a newer edge-broker`,
    );
  }
  for (let version = found + 1; version <= migrations.length; version++) {
    transaction(() => {
      if (version === 1) sql.run("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      sql.run(migrations[version - 1] as string);
      sql.run("DELETE FROM schema_version");
      sql.run("INSERT INTO schema_version (version) VALUES (?)", version);
    });
  }
  return found;
}
