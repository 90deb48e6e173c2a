import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BROKER_ATTRIBUTES, MAX_HOPS } from "../../src/protocol/attributes";
import type { PublishInput, RouteConfig, RouteStats } from "../../src/protocol/topic-rpc";
import { freshTopic, sqlIn, text, topicStub, unwrap } from "./helpers";

const utf8 = new TextEncoder();
const json = (data: unknown, extra: Partial<PublishInput> = {}): PublishInput => ({
  body: utf8.encode(JSON.stringify(data)),
  contentType: "application/json",
  attributes: {},
  ...extra,
});

const route = (name: string, to: string, extra: Partial<RouteConfig> = {}): RouteConfig => ({
  name,
  to,
  filter: null,
  transform: null,
  maxAttempts: 5,
  backoff: { min: 1_000, max: 1_000 },
  deadLetterTopic: null,
  ...extra,
});

const read = async (topic: string) =>
  unwrap(await topicStub(topic).read({ after: 0, limit: 1_000, wait: 0 })).messages;
const stats = async (topic: string, name: string) =>
  unwrap(await topicStub(topic).info()).stats.routes.find((r) => r.name === name) as RouteStats;

/** Creates a topic (so a route may forward to it). */
const create = async (name: string) => unwrap(await topicStub(name).putConfig({}));

/** Runs the source's alarm until its routes have nothing left to do now (bounded). */
async function drain(topic: string, runs = 20): Promise<void> {
  for (let i = 0; i < runs; i++) {
    const info = unwrap(await topicStub(topic).info());
    const now = Date.now();
    if (info.stats.routes.every((r) => r.lag === 0 || (r.retryAt !== null && r.retryAt > now))) return;
    await runDurableObjectAlarm(topicStub(topic));
  }
}

/** Makes every waiting route retry due now: SQLite is the truth, memory is rebuilt from it. */
async function dueRouteRetries(topic: string): Promise<void> {
  await sqlIn(topic, "UPDATE routes SET retry_at = 1 WHERE retry_at > 0");
  await evictDurableObject(topicStub(topic));
}

describe("routes", () => {
  it("forward each matching message once, in seq order, reshaped by the transform", async () => {
    const [source, target] = [freshTopic("orders"), freshTopic("eu")];
    await create(target);
    const eu = route("eu-orders", target, {
      filter: {
        attributes: { region: ["eu", { prefix: "uk-" }] },
        data: { total: [{ numeric: [">", 100] }] },
      },
      transform:
        '{"data": {"order": data.id, "total": data.total}, "attributes": {"tier": "big"}, "key": "k-" & $string(data.id)}',
    });
    unwrap(await topicStub(source).putConfig({ routes: [eu] }));
    const published = [
      json(
        { id: 1, total: 150 },
        { attributes: { region: "eu" }, replyTo: "order-replies", correlationId: "c-1" },
      ),
      json({ id: 2, total: 50 }, { attributes: { region: "eu" } }),
      json({ id: 3, total: 500 }, { attributes: { region: "us" } }),
      json({ id: 4, total: 101 }, { attributes: { region: "uk-north" } }),
    ];
    unwrap(await topicStub(source).publish(published));
    await drain(source);

    const copies = await read(target);
    expect(copies.map((m) => m.data)).toEqual([
      { order: 1, total: 150 },
      { order: 4, total: 101 },
    ]);
    expect(copies[0]).toMatchObject({
      key: "k-1",
      replyTo: "order-replies",
      correlationId: "c-1",
      attributes: {
        tier: "big",
        [BROKER_ATTRIBUTES.routeTopic]: source,
        [BROKER_ATTRIBUTES.routeName]: "eu-orders",
        [BROKER_ATTRIBUTES.routeSeq]: "1",
        [BROKER_ATTRIBUTES.hops]: "1",
      },
    });
    expect(await stats(source, "eu-orders")).toMatchObject({
      lag: 0,
      cursor: 5,
      forwarded: 2,
      filtered: 2,
      failed: 0,
    });
  });

  it("fan one publish out to many topics", async () => {
    const source = freshTopic("fan");
    const targets = Array.from({ length: 5 }, (_, i) => freshTopic(`fan${i}`));
    for (const t of targets) await create(t);
    unwrap(await topicStub(source).putConfig({ routes: targets.map((t, i) => route(`r${i}`, t)) }));
    unwrap(await topicStub(source).publish([text("one"), text("two")]));
    await drain(source);
    for (const t of targets) expect((await read(t)).map((m) => m.data)).toEqual(["one", "two"]);
  });

  it("store each copy once when a crash loses the cursor after the target acknowledged", async () => {
    const [source, target] = [freshTopic("src"), freshTopic("dst")];
    await create(target);
    unwrap(await topicStub(source).putConfig({ routes: [route("all", target)] }));
    unwrap(await topicStub(source).publish(Array.from({ length: 30 }, (_, i) => text(`m${i}`))));
    await drain(source);
    // The cursor as if its write never happened (the process died after the target answered).
    await sqlIn(source, "UPDATE routes SET cursor = 1, counters = '{}'");
    await evictDurableObject(topicStub(source));
    expect(await stats(source, "all")).toMatchObject({ lag: 30, cursor: 1 });
    await drain(source);
    const copies = await read(target);
    expect(copies.map((m) => m.data)).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
    expect(unwrap(await topicStub(target).info()).stats.duplicates).toBe(30);
  });

  it("stop a loop by hop count, and count what they did not copy", async () => {
    const [a, b] = [freshTopic("a"), freshTopic("b")];
    // Configured on the objects directly, as two PUTs racing each other could leave them.
    await create(a);
    await create(b);
    unwrap(await topicStub(a).putConfig({ routes: [route("to-b", b)] }));
    unwrap(await topicStub(b).putConfig({ routes: [route("to-a", a)] }));
    unwrap(await topicStub(a).publish([text("ping-pong")]));
    for (let round = 0; round < 2 * MAX_HOPS; round++) {
      await drain(a, 3);
      await drain(b, 3);
    }
    const all = [...(await read(a)), ...(await read(b))];
    expect(all).toHaveLength(1 + MAX_HOPS);
    const looped = (await stats(a, "to-b")).looped + (await stats(b, "to-a")).looped;
    expect(looped).toBe(1);
    expect((await stats(a, "to-b")).lag + (await stats(b, "to-a")).lag).toBe(0);
  });

  it("dead-letter only the message whose transform fails, after its attempts", async () => {
    const [source, target, dead] = [freshTopic("src"), freshTopic("dst"), freshTopic("dlt")];
    await create(target);
    const picky = route("picky", target, {
      transform: '{"data": data.bad ? $error("bad order " & $string(data.id)) : data}',
      maxAttempts: 2,
      deadLetterTopic: dead,
    });
    unwrap(await topicStub(source).putConfig({ routes: [picky] }));
    unwrap(await topicStub(source).publish([json({ id: 1 }), json({ id: 2, bad: true }), json({ id: 3 })]));
    await drain(source);
    expect((await read(target)).map((m) => m.data)).toEqual([{ id: 1 }]);
    expect(await stats(source, "picky")).toMatchObject({
      cursor: 2,
      attempts: 1,
      lastError: { seq: 2, code: "transform_failed" },
    });
    await dueRouteRetries(source);
    await drain(source);

    expect((await read(target)).map((m) => m.data)).toEqual([{ id: 1 }, { id: 3 }]);
    const letters = await read(dead);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      data: { id: 2, bad: true },
      attributes: {
        [BROKER_ATTRIBUTES.deadLetterTopic]: source,
        [BROKER_ATTRIBUTES.deadLetterRoute]: "picky",
        [BROKER_ATTRIBUTES.deadLetterSeq]: "2",
        [BROKER_ATTRIBUTES.deadLetterReason]: expect.stringContaining("bad order 2"),
      },
    });
    expect(await stats(source, "picky")).toMatchObject({
      forwarded: 2,
      deadLettered: 1,
      failed: 0,
      lag: 0,
      attempts: 0,
    });
  });

  it("retry a target that refuses, then count the message failed, and go on", async () => {
    const [source, missing] = [freshTopic("src"), freshTopic("missing")];
    unwrap(await topicStub(source).putConfig({ routes: [route("nowhere", missing, { maxAttempts: 2 })] }));
    unwrap(await topicStub(source).publish([text("lost")]));
    await drain(source);
    expect(await stats(source, "nowhere")).toMatchObject({ attempts: 1, lastError: { code: "not_found" } });
    // A route never creates its target.
    expect((await topicStub(missing).info()).ok).toBe(false);
    await dueRouteRetries(source);
    await drain(source);
    expect(await stats(source, "nowhere")).toMatchObject({ failed: 1, lag: 0, attempts: 0 });
  });

  it("retry a target whose schema refuses, while other routes go on", async () => {
    const [source, strict, easy] = [freshTopic("src"), freshTopic("strict"), freshTopic("easy")];
    unwrap(await topicStub(strict).putConfig({ schema: { type: "object", required: ["id"] } }));
    await create(easy);
    unwrap(await topicStub(source).putConfig({ routes: [route("strict", strict), route("easy", easy)] }));
    unwrap(await topicStub(source).publish([json({ id: 1 }), json({ name: "no id" }), json({ id: 3 })]));
    await drain(source);
    expect((await read(easy)).length).toBe(3);
    expect((await read(strict)).map((m) => m.data)).toEqual([{ id: 1 }]);
    expect(await stats(source, "strict")).toMatchObject({
      cursor: 2,
      lastError: { code: "schema_violation" },
    });
  });

  it("keep in the log what they have not forwarded, under onFull reject", async () => {
    const [source, missing] = [freshTopic("src"), freshTopic("missing")];
    unwrap(
      await topicStub(source).putConfig({ retention: { maxMessages: 2 }, routes: [route("stuck", missing)] }),
    );
    unwrap(await topicStub(source).publish([text("a"), text("b")]));
    const refused = await topicStub(source).publish([text("c")]);
    expect(refused.ok ? "stored" : refused.code).toBe("topic_full");
  });

  it("rebuild their state from SQLite after an eviction, and start a new route at the next message", async () => {
    const [source, target] = [freshTopic("src"), freshTopic("dst")];
    await create(target);
    unwrap(await topicStub(source).publish([text("before")]));
    unwrap(await topicStub(source).putConfig({ routes: [route("late", target)] }));
    unwrap(await topicStub(source).publish([text("after")]));
    await evictDurableObject(topicStub(source));
    expect(await stats(source, "late")).toMatchObject({ cursor: 2, lag: 1 });
    await drain(source);
    expect((await read(target)).map((m) => m.data)).toEqual(["after"]);
    // Taken out of the config, a route forgets its place.
    unwrap(await topicStub(source).putConfig({ routes: [] }));
    expect(await sqlIn(source, "SELECT name FROM routes")).toEqual([]);
  });
});
