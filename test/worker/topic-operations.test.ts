/**
 * Subscriptions an operator can run: pause, purge, redrive, and messages with a schedule
 * (`deliverAt`) or a time to live (`ttl`, `expiresAt`). Each test reads the stats and the log
 * afterwards.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WireMessage } from "../../src/protocol/message";
import type { SubscriptionInfo } from "../../src/protocol/topic-rpc";
import { dueRetries, expireLeases, freshTopic, sqlIn, topicStub } from "./helpers";
import { call, expectJson, expectProblem, readAll } from "./http-support";

const put = (topic: string, sub: string, json: unknown) =>
  call("PUT", `/v1/topics/${topic}/subscriptions/${sub}`, { json });
const pull = async (topic: string, sub: string, max = 100) =>
  (
    await expectJson<{ messages: WireMessage[] }>(
      await call("POST", `/v1/topics/${topic}/subscriptions/${sub}/pull`, { json: { max } }),
      200,
    )
  ).messages;
const stats = async (topic: string, sub: string) =>
  (await expectJson<SubscriptionInfo>(await call("GET", `/v1/topics/${topic}/subscriptions/${sub}`), 200))
    .stats;
const publish = (topic: string, body: string, query = "") =>
  call("POST", `/v1/topics/${topic}/messages${query}`, { body, headers: { "content-type": "text/plain" } });

describe("pause", () => {
  it("stops delivery while the backlog grows, and resumes where it was", async () => {
    const topic = freshTopic("pause");
    await expectJson(await put(topic, "s", { startAt: "earliest" }), 201);
    await publish(topic, "one");
    const paused = await expectJson<SubscriptionInfo>(await put(topic, "s", { paused: true }), 200);
    expect(paused.config.paused).toBe(true);
    await publish(topic, "two");
    expect(await pull(topic, "s")).toEqual([]);
    expect(await stats(topic, "s")).toMatchObject({ backlog: 2, delivered: 0 });
    await expectJson(await put(topic, "s", { paused: false }), 200);
    expect((await pull(topic, "s")).map((m) => m.data)).toEqual(["one", "two"]);
  });
});

describe("purge", () => {
  it("acks everything published so far, in flight and waiting included, and counts it", async () => {
    const topic = freshTopic("purge");
    await expectJson(await put(topic, "s", { startAt: "earliest" }), 201);
    for (const body of ["a", "b", "c", "d"]) await publish(topic, body);
    await publish(topic, "later", "?delay=1h");
    expect(await pull(topic, "s", 2)).toHaveLength(2);
    const answer = await expectJson(await call("POST", `/v1/topics/${topic}/subscriptions/s/purge`), 200);
    expect(answer).toEqual({ purged: 5 });
    expect(await stats(topic, "s")).toMatchObject({ backlog: 0, inFlight: 0, purged: 5, ackFloor: 6 });
    await publish(topic, "after");
    expect((await pull(topic, "s")).map((m) => m.data)).toEqual(["after"]);
    expect(await readAll(topic)).toHaveLength(6); // the log keeps every message
    await expectProblem(await call("POST", `/v1/topics/${topic}/subscriptions/none/purge`), 404, "not_found");
  });
});

describe("redrive", () => {
  it("gives a subscription's dead letters back to it alone, once each", async () => {
    const topic = freshTopic("redrive");
    const dlq = `${topic}.dead`;
    const config = { startAt: "earliest", maxAttempts: 1, deadLetterTopic: dlq, backoff: { min: 0, max: 0 } };
    await expectJson(await put(topic, "s", config), 201);
    await expectJson(await put(topic, "other", config), 201);
    await expectJson(await put(dlq, "inspect", { startAt: "earliest" }), 201);
    for (const body of ["x", "y"]) await publish(topic, body);
    expect(await pull(topic, "s")).toHaveLength(2);
    expect(await pull(topic, "other")).toHaveLength(2);
    await expireLeases(topic); // both run out of attempts: dead-lettered, one copy each per subscription
    await runDurableObjectAlarm(topicStub(topic)); // the alarm copies them
    expect(await readAll(dlq)).toHaveLength(4);
    expect(await stats(topic, "s")).toMatchObject({ deadLettered: 2, backlog: 0 });

    const first = await expectJson(await call("POST", `/v1/topics/${topic}/subscriptions/s/redrive`), 200);
    expect(first).toEqual({ redriven: 2, skipped: 0, more: false });
    const again = await pull(topic, "s");
    expect(again.map((m) => [m.data, m.attempt])).toEqual([
      ["x", 1],
      ["y", 1],
    ]);
    expect(await pull(topic, "other")).toEqual([]); // the other subscription gets nothing back
    expect(await stats(topic, "s")).toMatchObject({ redriven: 2, inFlight: 2 });
    // Consumed: a second redrive finds nothing new.
    expect(await expectJson(await call("POST", `/v1/topics/${topic}/subscriptions/s/redrive`), 200)).toEqual({
      redriven: 0,
      skipped: 0,
      more: false,
    });
    await expectProblem(
      await call("POST", `/v1/topics/${dlq}/subscriptions/inspect/redrive`),
      409,
      "conflict",
    );
  });
});

describe("time to live and deliverAt", () => {
  it("skips a message that expired before it was acked and counts it, never dead-lettering it", async () => {
    const topic = freshTopic("ttl");
    const config = {
      startAt: "earliest",
      maxAttempts: 2,
      deadLetterTopic: `${topic}.dead`,
      backoff: { min: 0, max: 0 },
    };
    await expectJson(await put(topic, "s", config), 201);
    await publish(topic, "short", "?ttl=1h");
    await publish(topic, "long");
    const [first] = await pull(topic, "s", 1);
    expect(first).toMatchObject({ data: "short", expiresAt: expect.any(Number) });
    await sqlIn(topic, "UPDATE messages SET expires_at = 1 WHERE seq = 1");
    await expireLeases(topic);
    await runDurableObjectAlarm(topicStub(topic)); // the lease runs out: it would come back
    await dueRetries(topic);
    expect((await pull(topic, "s")).map((m) => m.data)).toEqual(["long"]);
    expect(await stats(topic, "s")).toMatchObject({ expired: 1, deadLettered: 0 });
    await publish(topic, "never", `?expiresAt=${Date.now() + 60_000}`);
    await sqlIn(topic, "UPDATE messages SET expires_at = 1 WHERE seq = 3");
    expect(await pull(topic, "s")).toEqual([]);
    expect(await stats(topic, "s")).toMatchObject({ expired: 2, deadLettered: 0 });
    expect((await readAll(topic)).map((m) => m.data)).toEqual(["short", "long", "never"]);
  });

  it("delivers at an absolute time, given as RFC 3339 or epoch ms, and refuses what cannot be", async () => {
    const topic = freshTopic("at");
    await expectJson(await put(topic, "s", { startAt: "earliest" }), 201);
    const at = new Date(Date.now() + 3_600_000);
    await expectJson(await publish(topic, "later", `?deliverAt=${at.toISOString()}`), 201);
    const batch = await call("POST", `/v1/topics/${topic}/batch`, {
      json: { messages: [{ data: 1, deliverAt: at.getTime() }] },
    });
    await expectJson(batch, 201);
    const log = await readAll(topic);
    expect(log.map((m) => m.deliverAt)).toEqual([at.getTime(), at.getTime()]);
    expect(await pull(topic, "s")).toEqual([]);
    await sqlIn(topic, "UPDATE messages SET deliver_at = 1");
    await sqlIn(topic, "UPDATE retries SET available_at = 1");
    expect(await pull(topic, "s")).toHaveLength(2);

    for (const query of [
      "?deliverAt=1767225600", // seconds, not milliseconds: long past
      `?deliverAt=${Date.now() + 8 * 86_400_000}`, // past the 7-day limit
      `?deliverAt=${at.getTime()}&delay=1s`,
      "?ttl=1s&expiresAt=2999-01-01T00:00:00Z",
      `?deliverAt=${at.getTime()}&ttl=1m`, // would expire before it is due
      "?expiresAt=yesterday",
    ]) {
      await expectProblem(await publish(topic, "no", query), 400, "invalid_request");
    }
    expect(await readAll(topic)).toHaveLength(2);
  });
});
