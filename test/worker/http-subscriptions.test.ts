import { describe, expect, it } from "vitest";
import type { WireMessage } from "../../src/protocol/message";
import type { SubscriptionInfo } from "../../src/protocol/topic-rpc";
import { freshTopic } from "./helpers";
import { call, expectJson, expectProblem, topicExists } from "./http-support";

const path = (topic: string, sub = "workers", verb = "") =>
  `/v1/topics/${topic}/subscriptions/${sub}${verb && `/${verb}`}`;

async function topicWith(count: number): Promise<string> {
  const topic = freshTopic();
  const messages = Array.from({ length: count }, (_, i) => ({ data: i + 1 }));
  await expectJson(await call("POST", `/v1/topics/${topic}/batch`, { json: { messages } }), 201);
  return topic;
}

async function pull(topic: string, json: unknown = {}): Promise<WireMessage[]> {
  const res = await call("POST", path(topic, "workers", "pull"), { json });
  return (await expectJson<{ messages: WireMessage[] }>(res, 200)).messages;
}

describe("PUT, GET and DELETE /v1/topics/{topic}/subscriptions/{sub}", () => {
  it("creates with 201 and a Location, updates with 200, and converts durations to ms", async () => {
    const topic = freshTopic();
    const created = await call("PUT", path(topic), {
      json: { ackTimeout: "30s", backoff: { min: "1s", max: "5m" }, maxAttempts: 5, ordered: true },
    });
    expect(created.headers.get("location")).toBe(path(topic));
    const info = await expectJson<SubscriptionInfo>(created, 201);
    expect(info).toMatchObject({
      name: "workers",
      topic,
      config: { ackTimeout: 30_000, backoff: { min: 1_000, max: 300_000 }, maxAttempts: 5, ordered: true },
    });
    const updated = await expectJson<SubscriptionInfo>(
      await call("PUT", path(topic), {
        json: { maxAttempts: null, filter: { attributes: { kind: "order" } } },
      }),
      200,
    );
    expect(updated.config).toMatchObject({
      ackTimeout: 30_000,
      maxAttempts: null,
      filter: { attributes: { kind: "order" } },
    });
  });

  it("gets, lists and deletes subscriptions", async () => {
    const topic = freshTopic();
    await expectJson(
      await call("PUT", path(topic, "a"), { json: { deadLetterTopic: `${topic}.dead` } }),
      201,
    );
    await expectJson(await call("PUT", path(topic, "b")), 201);
    const a = await expectJson<SubscriptionInfo>(await call("GET", path(topic, "a")), 200);
    expect(a.config.deadLetterTopic).toBe(`${topic}.dead`);
    const list = await expectJson<{ subscriptions: SubscriptionInfo[] }>(
      await call("GET", `/v1/topics/${topic}/subscriptions`),
      200,
    );
    expect(list.subscriptions.map((s) => s.name).sort()).toEqual(["a", "b"]);
    const deleted = await call("DELETE", path(topic, "a"));
    expect(deleted.status).toBe(204);
    await expectProblem(await call("GET", path(topic, "a")), 404, "not_found");
    await expectProblem(await call("DELETE", path(topic, "a")), 404, "not_found");
  });

  it.each([
    ["ackTimeout", { ackTimeout: "500ms" }, "ackTimeout must be a duration between 1s and 12h"],
    ["ackTimeout", { ackTimeout: "13h" }, "ackTimeout must be a duration between 1s and 12h"],
    ["maxAttempts", { maxAttempts: 0 }, "maxAttempts must be an integer between 1 and 1000, or null"],
    ["maxAttempts", { maxAttempts: 1001 }, "maxAttempts must be an integer between 1 and 1000, or null"],
    ["backoff", { backoff: { min: "10s", max: "1s" } }, "backoff.min must not exceed backoff.max"],
    ["backoff", { backoff: { min: "1s" } }, "backoff.max is required"],
    ["deadLetterTopic", { deadLetterTopic: "no spaces" }, /^deadLetterTopic must be a name of 1 to 128/],
    ["filter", { filter: { kind: "order" } }, 'filter has an unknown field "kind"'],
    ["filter", { filter: { attributes: { kind: 1 } } }, "filter.attributes.kind must be a string"],
    ["ordered", { ordered: "yes" }, "ordered must be true or false"],
    ["startAt", { startAt: "now" }, 'startAt must be "earliest", "latest", {"seq": n} or {"time": epochMs}'],
    [
      "startAt",
      { startAt: { seq: -1 } },
      'startAt must be "earliest", "latest", {"seq": n} or {"time": epochMs}',
    ],
    ["config", { config: { ackTimeout: 1000 } }, 'request body has an unknown field "config"'],
    ["stats", { stats: { backlog: 0 } }, "stats is set by the broker and cannot be given"],
  ])("refuses an invalid %s and creates nothing", async (_, body, detail) => {
    const topic = freshTopic();
    const problem = await expectProblem(
      await call("PUT", path(topic), { json: body }),
      400,
      "invalid_request",
    );
    if (typeof detail === "string") expect(problem.detail).toBe(detail);
    else expect(problem.detail).toMatch(detail);
    expect(await topicExists(topic)).toBe(false);
  });

  it("refuses a dead-letter topic that is the subscription's own topic", async () => {
    const topic = freshTopic();
    const problem = await expectProblem(
      await call("PUT", path(topic), { json: { deadLetterTopic: topic } }),
      400,
      "invalid_request",
    );
    expect(problem.detail).toBe("deadLetterTopic must not be the subscription's own topic");
    expect(await topicExists(topic)).toBe(false);
  });
});

describe("the pull consumer over HTTP", () => {
  it("pulls leased messages, acks them, and pulls the rest", async () => {
    const topic = await topicWith(3);
    await expectJson(await call("PUT", path(topic), { json: { startAt: "earliest" } }), 201);
    const first = await pull(topic, { max: 2 });
    expect(first.map((m) => [m.seq, m.data, m.attempt])).toEqual([
      [1, 1, 1],
      [2, 2, 1],
    ]);
    expect(first[0]?.leaseExpiresAt).toBeGreaterThan(Date.now());
    const acked = await expectJson(
      await call("POST", path(topic, "workers", "ack"), { json: { seqs: [1, 2] } }),
      200,
    );
    expect(acked).toEqual({ acked: 2 });
    expect((await pull(topic)).map((m) => m.seq)).toEqual([3]);
  });

  it("pulls 10 messages by default", async () => {
    const topic = await topicWith(12);
    await expectJson(await call("PUT", path(topic), { json: { startAt: "earliest" } }), 201);
    expect(await pull(topic)).toHaveLength(10);
  });

  it("nacks with a delay, extends a lease and seeks", async () => {
    const topic = await topicWith(2);
    await expectJson(await call("PUT", path(topic), { json: { startAt: "earliest" } }), 201);
    await pull(topic, { max: 2 });
    const extended = await call("POST", path(topic, "workers", "extend"), {
      json: { seqs: [1], ackTimeout: "2m" },
    });
    expect(await expectJson(extended, 200)).toEqual({ extended: 1 });
    const nacked = await call("POST", path(topic, "workers", "nack"), { json: { seqs: [2], delay: "1h" } });
    expect(await expectJson(nacked, 200)).toEqual({ nacked: 1 });
    expect(await pull(topic)).toEqual([]);
    const seek = await call("POST", path(topic, "workers", "seek"), { json: { to: "latest" } });
    expect(await expectJson(seek, 200)).toEqual({ cursor: expect.any(Number) });
    for (const to of ["earliest", 1, { time: Date.now() }]) {
      await expectJson(await call("POST", path(topic, "workers", "seek"), { json: { to } }), 200);
    }
  });

  it("answers not_found for a subscription that does not exist", async () => {
    const topic = await topicWith(1);
    await expectProblem(await call("POST", path(topic, "nobody", "pull"), { json: {} }), 404, "not_found");
  });

  it.each([
    ["pull", { max: 0 }, "max must be an integer between 1 and 1000"],
    ["pull", { max: 1001 }, "max must be an integer between 1 and 1000"],
    ["pull", { wait: "21s" }, "wait must be a duration between 0ms and 20s"],
    ["pull", { maxMessages: 3 }, 'request body has an unknown field "maxMessages"'],
    ["ack", {}, "seqs is required"],
    ["ack", { seqs: [] }, "seqs must be a non-empty array of at most 1000 seqs (positive integers)"],
    ["ack", { seqs: [0] }, "seqs must be a non-empty array of at most 1000 seqs (positive integers)"],
    ["ack", { seqs: ["1"] }, "seqs must be a non-empty array of at most 1000 seqs (positive integers)"],
    [
      "ack",
      { seqs: Array.from({ length: 1001 }, (_, i) => i + 1) },
      "seqs must be a non-empty array of at most 1000 seqs (positive integers)",
    ],
    ["nack", { seqs: [1], delay: "13h" }, "delay must be a duration between 0ms and 12h"],
    ["extend", { seqs: [1], ackTimeout: 10 }, "ackTimeout must be a duration between 1s and 12h"],
    ["seek", {}, "to is required"],
    ["seek", { to: "middle" }, 'to must be "earliest", "latest", a seq or {"time": epochMs}'],
    ["seek", { to: { seq: 3 } }, 'to must be "earliest", "latest", a seq or {"time": epochMs}'],
  ])("refuses %s with %j", async (verb, body, detail) => {
    const topic = freshTopic();
    const res = await call("POST", path(topic, "workers", verb), { json: body });
    expect((await expectProblem(res, 400, "invalid_request")).detail).toBe(detail);
    expect(await topicExists(topic)).toBe(false);
  });

  it("refuses malformed JSON on a verb", async () => {
    const topic = freshTopic();
    const res = await call("POST", path(topic, "workers", "ack"), {
      body: "seqs=1",
      headers: { "content-type": "application/json" },
    });
    expect((await expectProblem(res, 400, "invalid_request")).detail).toBe("request body is not valid JSON");
  });
});
