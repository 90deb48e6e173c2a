/**
 * What a rollback across a schema change does (docs/upgrades.md): code older than a topic's
 * schema refuses that topic, answering `500 internal`, and leaves its database as the newer
 * release left it; the other topics serve. The state is the newest upgrade fixture, with one
 * topic moved one schema version past this code, as a newer release would have left it.
 */
import { readdirSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { SCHEMA_VERSION } from "../../src/topic/migrations";
import { type Broker, removeState, startBroker } from "./harness";
import { copyShifted, type Fixture, fixtures } from "./upgrade-state";

const all = fixtures();

describe("a rollback onto a newer schema", () => {
  const newest = all.at(-1) as Fixture;
  let broker: Broker;
  let ordersDb: string;

  beforeAll(async () => {
    const stateDir = copyShifted(newest, Date.now() - newest.manifest.writtenAt);
    // The topic as a newer release would have left it: one schema version ahead of this code.
    ordersDb = topicDatabase(stateDir, "orders");
    const db = new DatabaseSync(ordersDb);
    db.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION + 1);
    db.close();
    broker = await startBroker({ stateDir });
  });

  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  test("refuses that topic and leaves it as it was, while the other topics serve", async () => {
    for (const res of [
      await broker.json("/v1/topics/orders"),
      await broker.json("/v1/topics/orders/messages", { method: "POST", json: { lost: false } }),
    ]) {
      expect(res).toMatchObject({ status: 500, body: { code: "internal" } });
    }
    expect((await broker.json("/v1/topics/metrics")).status).toBe(200);
    await broker.stop();
    const db = new DatabaseSync(ordersDb);
    try {
      expect(db.prepare("SELECT version FROM schema_version").get()).toEqual({ version: SCHEMA_VERSION + 1 });
      const { stats } = (newest.manifest.snapshot.byName.orders as { info: { stats: { messages: number } } })
        .info;
      expect(db.prepare("SELECT COUNT(*) AS n FROM messages").get()).toEqual({ n: stats.messages });
    } finally {
      db.close();
    }
  });
});

/** The database file of the topic named `name` in a state directory. */
function topicDatabase(stateDir: string, name: string): string {
  const dir = `${stateDir}/v3/do/edge-broker-Topic`;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")) {
    const db = new DatabaseSync(`${dir}/${file}`);
    const row = db.prepare("SELECT value FROM meta WHERE key = 'topic'").get() as
      | { value: string }
      | undefined;
    db.close();
    if (row && JSON.parse(row.value).name === name) return `${dir}/${file}`;
  }
  throw new Error(`no topic ${name} in ${dir}`);
}
