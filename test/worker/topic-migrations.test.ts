import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, migrate, SCHEMA_VERSION } from "../../src/topic/migrations";
import { Sql } from "../../src/topic/sql";
import type { Topic } from "../../src/topic/topic";
import { freshTopic, text, topicStub, unwrap } from "./helpers";

const inObject = <R>(fn: (sql: Sql, state: DurableObjectState) => R) =>
  runInDurableObject(topicStub(freshTopic()), (_instance: Topic, state) =>
    fn(new Sql(state.storage.sql), state),
  );

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
    unwrap(await topic.publish(name, [text("a")]));
    await runInDurableObject(topic, (_i: Topic, state) =>
      migrate(new Sql(state.storage.sql), (fn) => state.storage.transactionSync(fn)),
    );
    expect(unwrap(await topic.publish(name, [text("b")]))[0]?.seq).toBe(2);
  });
});
