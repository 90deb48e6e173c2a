import { describe, expect, it } from "vitest";
import { FILTER_LIMITS } from "../../src/protocol/filter-pattern";
import type { PublishInput } from "../../src/protocol/topic-rpc";
import { freshTopic, text, topicStub, unwrap } from "./helpers";
import { call, expectJson, expectProblem, topicExists } from "./http-support";
import { countMessages, openSocket } from "./ws-helpers";

const utf8 = new TextEncoder();
const json = (data: unknown, attributes: Record<string, string> = {}): PublishInput => ({
  body: utf8.encode(JSON.stringify(data)),
  contentType: "application/json",
  attributes,
});

describe("subscription filters on the body", () => {
  it("deliver only matching messages, pulled and pushed, and count the backlog they would", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    const filter = { data: { total: [{ numeric: [">", 100] }], items: { sku: [{ prefix: "BK-" }] } } };
    unwrap(await topic.putSubscription("big-books", { startAt: "earliest", filter }));
    unwrap(await topic.putSubscription("pushed", { startAt: "earliest", filter }));
    unwrap(
      await topic.publish([
        json({ total: 150, items: [{ sku: "CD-1" }, { sku: "BK-2" }] }),
        json({ total: 150, items: [{ sku: "CD-1" }] }),
        json({ total: 50, items: [{ sku: "BK-3" }] }),
        text("not JSON at all"),
        json({ total: 101, items: { sku: "BK-4" } }),
      ]),
    );
    expect(unwrap(await topic.getSubscription("big-books")).stats.backlog).toBe(2);
    // Published after the count: the kept count takes them in as they come.
    unwrap(await topic.publish([json({ total: 999, items: [{ sku: "BK-5" }] }), json({ total: 1 })]));
    expect(unwrap(await topic.getSubscription("big-books")).stats.backlog).toBe(3);
    const pulled = unwrap(await topic.pull("big-books", { max: 10, wait: 0 })).messages;
    expect(pulled.map((m) => m.seq)).toEqual([1, 5, 6]);
    const socket = await openSocket(name, { subscription: "pushed" });
    await socket.until(countMessages(3));
    expect(socket.messages().map((m) => m.seq)).toEqual([1, 5, 6]);
    socket.ws.close(1000);
  });

  it("read bodies a page bounded in bytes at a time: 1 MiB messages go through", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("s", { startAt: "earliest", filter: { data: { keep: [true] } } }));
    const big = (keep: boolean) => json({ keep, pad: "x".repeat(1024 * 1024 - 40) });
    for (let i = 0; i < 12; i++) unwrap(await topic.publish([big(i % 3 === 0)]));
    expect(unwrap(await topic.getSubscription("s")).stats.backlog).toBe(4);
    const seqs: number[] = [];
    for (let i = 0; i < 10 && seqs.length < 4; i++) {
      seqs.push(...unwrap(await topic.pull("s", { max: 10, wait: 0 })).messages.map((m) => m.seq));
    }
    expect(seqs).toEqual([1, 4, 7, 10]);
  });
});

describe("hostile filters", () => {
  const put = (topic: string, filter: unknown) =>
    call("PUT", `/v1/topics/${topic}/subscriptions/s`, { json: { filter } });

  it("are refused at PUT, deep or huge or wide, naming where, and write nothing", async () => {
    const topic = freshTopic();
    let deep: unknown = ["x"];
    for (let i = 0; i < 200; i++) deep = { a: deep };
    expect((await expectProblem(await put(topic, { data: deep }), 400, "invalid_request")).detail).toMatch(
      /^filter\.data(\.a)+ must not nest deeper than 10 levels$/,
    );
    const huge = { data: { a: ["x".repeat(FILTER_LIMITS.characters)] } };
    expect((await expectProblem(await put(topic, huge), 400, "invalid_request")).detail).toMatch(
      /characters of JSON/,
    );
    const wide = { data: { a: Array.from({ length: 300 }, (_, i) => i) } };
    expect((await expectProblem(await put(topic, wide), 400, "invalid_request")).detail).toMatch(
      /matchers in all/,
    );
    const bad = { data: { total: [{ numeric: [">", "100"] }] } };
    expect((await expectProblem(await put(topic, bad), 400, "invalid_request")).detail).toBe(
      "filter.data.total[0].numeric[1] must be a finite number",
    );
    expect(await topicExists(topic)).toBe(false);
    await expectJson(await put(topic, { attributes: { region: "eu" } }), 201);
  });
});
