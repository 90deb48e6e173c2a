import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Registry } from "../../src/registry/registry";
import { REGISTRY_MIGRATIONS } from "../../src/registry/registry";
import { migrate as migrateWith } from "../../src/storage/migrate";
import { Sql } from "../../src/storage/sql";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/topic/migrations";
import type { Topic } from "../../src/topic/topic";
import { freshTopic, sqlIn, text, topicStub, unwrap } from "./helpers";

const migrate = (sql: Sql, tx: (fn: () => void) => void, migrations: readonly string[] = MIGRATIONS) =>
  migrateWith(sql, tx, migrations, "topic");

/** Runs `fn` in the object of a topic that exists (a topic's schema comes with the topic). */
async function inObject<R>(fn: (sql: Sql, state: DurableObjectState) => R): Promise<R> {
  const stub = topicStub(freshTopic());
  unwrap(await stub.putConfig({}));
  return runInDurableObject(stub, (_instance: Topic, state) => fn(new Sql(state.storage.sql), state));
}

describe("migrations", () => {
  it("brings a fresh database to the current version", async () => {
    const version = await inObject((sql) => sql.number("SELECT version FROM schema_version"));
    expect(version).toBe(SCHEMA_VERSION);
  });

  it("does nothing when run again", async () => {
    const found = await inObject((sql, state) => {
      const tx = (fn: () => void) => state.storage.transactionSync(fn);
      const again = migrate(sql, tx);
      const tables = sql.number("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'");
      migrate(sql, tx);
      return { again, tables, after: sql.number("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'") };
    });
    expect(found.again).toBe(SCHEMA_VERSION);
    expect(found.after).toBe(found.tables);
  });

  it("upgrades a database of the previous version, keeping its rows", async () => {
    const result = await inObject((sql, state) => {
      const tx = (fn: () => void) => state.storage.transactionSync(fn);
      const next = [...MIGRATIONS, "ALTER TABLE messages ADD COLUMN extra TEXT DEFAULT 'x'"];
      sql.run("INSERT INTO meta (key, value) VALUES ('probe', '1')");
      const found = migrate(sql, tx, next);
      return {
        found,
        version: sql.number("SELECT version FROM schema_version"),
        probe: sql.one("SELECT value FROM meta WHERE key = 'probe'"),
      };
    });
    expect(result).toEqual({ found: SCHEMA_VERSION, version: SCHEMA_VERSION + 1, probe: { value: "1" } });
  });

  it("refuses a database newer than the code", async () => {
    const error = await inObject((sql, state) => {
      sql.run("UPDATE schema_version SET version = ?", SCHEMA_VERSION + 1);
      try {
        migrate(sql, (fn) => state.storage.transactionSync(fn));
        return null;
      } catch (e) {
        return String(e);
      }
    });
    expect(error).toMatch(/newer than this code knows/);
  });

  it("a failing migration leaves the database at the version before it", async () => {
    const result = await inObject((sql, state) => {
      const tx = (fn: () => void) => state.storage.transactionSync(fn);
      try {
        migrate(sql, tx, [...MIGRATIONS, "CREATE TABLE half (x INTEGER); THIS IS NOT SQL"]);
      } catch {
        // expected
      }
      return {
        version: sql.number("SELECT version FROM schema_version"),
        half: sql.one("SELECT name FROM sqlite_master WHERE name = 'half'") ?? null,
      };
    });
    expect(result).toEqual({ version: SCHEMA_VERSION, half: null });
  });

  it("a topic keeps working after its database is opened again", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("a")]));
    await runInDurableObject(topic, (_i: Topic, state) =>
      migrate(new Sql(state.storage.sql), (fn) => state.storage.transactionSync(fn)),
    );
    expect(unwrap(await topic.publish([text("b")]))[0]?.seq).toBe(2);
  });

  it("migration 2 drops leases.first_seq and keeps every lease", async () => {
    const result = await inObject((sql, state) => {
      const tx = (fn: () => void) => state.storage.transactionSync(fn);
      state.storage.deleteAll();
      migrate(sql, tx, MIGRATIONS.slice(0, 1));
      sql.run(
        "INSERT INTO leases (subscription, consumer, expires_at, first_seq, seqs) VALUES ('s', NULL, 5, 3, '[3,4]')",
      );
      migrate(sql, tx);
      return {
        columns: sql.all<{ name: string }>("SELECT name FROM pragma_table_info('leases')").map((c) => c.name),
        leases: sql.all("SELECT subscription, expires_at, seqs FROM leases"),
      };
    });
    expect(result.columns).not.toContain("first_seq");
    expect(result.leases).toEqual([{ subscription: "s", expires_at: 5, seqs: "[3,4]" }]);
  });

  it("a topic that leases messages after the upgrade reads its leases back", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("s", { startAt: "earliest" }));
    unwrap(await topic.publish([text("a"), text("b")]));
    expect(unwrap(await topic.pull("s", { max: 2, wait: 0 })).messages).toHaveLength(2);
    expect(await sqlIn(name, "SELECT seqs FROM leases")).toEqual([{ seqs: "[1,2]" }]);
    expect(unwrap(await topic.ack("s", { seqs: [1] }))).toEqual({ acked: 1 });
    expect(await sqlIn(name, "SELECT seqs FROM leases")).toEqual([{ seqs: "[2]" }]);
  });
});

describe("registry migrations", () => {
  const registry = () => env.REGISTRY.getByName(`registry-${crypto.randomUUID()}`);

  it("adopt a catalogue created before migrations were numbered, keeping its topics", async () => {
    const stub = registry();
    const result = await runInDurableObject(stub, (_r: Registry, state) => {
      const sql = new Sql(state.storage.sql);
      state.storage.deleteAll();
      // As the catalogue was first created: the table alone, no schema_version.
      sql.run("CREATE TABLE topics (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID");
      sql.run("INSERT INTO topics VALUES ('old', 1)");
      migrateWith(sql, (fn) => state.storage.transactionSync(fn), REGISTRY_MIGRATIONS, "registry");
      return {
        version: sql.number("SELECT version FROM schema_version"),
        topics: sql.all("SELECT name FROM topics"),
      };
    });
    expect(result).toEqual({ version: REGISTRY_MIGRATIONS.length, topics: [{ name: "old" }] });
  });

  it("refuse a catalogue newer than the code", async () => {
    const stub = registry();
    const error = await runInDurableObject(stub, (_r: Registry, state) => {
      const sql = new Sql(state.storage.sql);
      sql.run("UPDATE schema_version SET version = ?", REGISTRY_MIGRATIONS.length + 1);
      try {
        migrateWith(sql, (fn) => state.storage.transactionSync(fn), REGISTRY_MIGRATIONS, "registry");
        return null;
      } catch (e) {
        return String(e);
      }
    });
    expect(error).toMatch(
      new RegExp(
        `registry database is at schema version ${REGISTRY_MIGRATIONS.length + 1}, newer than this code knows`,
      ),
    );
  });
});
