import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Topic } from "../../src/topic/topic";
import { freshTopic, text, topicStub, unwrap } from "./helpers";
import { call, expectProblem } from "./http-support";

/** The tables of ours in the object's database (the runtime keeps its own `_cf_` ones). */
const tables = (name: string) =>
  runInDurableObject(topicStub(name), (_topic: Topic, state) =>
    state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' ORDER BY name",
      )
      .toArray()
      .map((row) => row.name),
  );

/** Every refused read of a topic that does not exist, over HTTP. */
const reads = (t: string): [string, string, Record<string, unknown>?][] => [
  ["GET", `/v1/topics/${t}`],
  ["GET", `/v1/topics/${t}/messages?after=0`],
  ["GET", `/v1/topics/${t}/messages?wait=50ms`],
  ["GET", `/v1/topics/${t}/subscriptions`],
  ["GET", `/v1/topics/${t}/subscriptions/s`],
  ["POST", `/v1/topics/${t}/subscriptions/s/pull`, { max: 1, wait: "50ms" }],
  ["POST", `/v1/topics/${t}/subscriptions/s/ack`, { seqs: [1] }],
  ["POST", `/v1/topics/${t}/subscriptions/s/seek`, { to: "earliest" }],
  ["DELETE", `/v1/topics/${t}/subscriptions/s`],
  ["DELETE", `/v1/topics/${t}`],
];

describe("a topic that does not exist", () => {
  it("costs no storage: refused reads leave its object's database empty", async () => {
    const name = freshTopic();
    for (const [method, path, json] of reads(name)) {
      await expectProblem(await call(method, path, json === undefined ? {} : { json }), 404, "not_found");
    }
    expect(await tables(name)).toEqual([]);
  });

  it("gets its schema with the publish that creates it", async () => {
    const name = freshTopic();
    await expectProblem(await call("GET", `/v1/topics/${name}`), 404, "not_found");
    unwrap(await topicStub(name).publish([text("a")]));
    expect(await tables(name)).toContain("messages");
    expect(unwrap(await topicStub(name).read({ after: 0, limit: 10, wait: 0 })).messages).toHaveLength(1);
  });

  it("gets its schema with the subscription PUT that creates it", async () => {
    const name = freshTopic();
    unwrap(await topicStub(name).putSubscription("s", { startAt: "earliest" }));
    expect(await tables(name)).toContain("subscriptions");
  });

  it("leaves an empty database behind when deleted, and stays empty when read again", async () => {
    const name = freshTopic();
    unwrap(await topicStub(name).publish([text("a")]));
    unwrap(await topicStub(name).destroy());
    await expectProblem(await call("GET", `/v1/topics/${name}/messages`), 404, "not_found");
    expect(await tables(name)).toEqual([]);
    const [receipt] = unwrap(await topicStub(name).publish([text("again")]));
    expect(receipt?.seq).toBe(1);
  });
});
