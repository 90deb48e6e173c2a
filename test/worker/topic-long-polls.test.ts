import { describe, expect, it } from "vitest";
import { eventually, freshTopic, parkedLongPolls, text, topicStub, unwrap } from "./helpers";
import { call, expectProblem } from "./http-support";

/** SQL statements the topic's object has run since it started: a count of the work it did. */
const statements = async (name: string) => unwrap(await topicStub(name).info()).usage.statements;

describe("long-polls", () => {
  it("do not multiply the cost of a publish: parked pulls are woken one at a time", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("work", { startAt: "latest" }));
    unwrap(await topic.publish([text("warm-up")]));
    const publishCost = async () => {
      const before = await statements(name);
      unwrap(await topic.publish([text("x")]));
      return (await statements(name)) - before;
    };
    const alone = await publishCost();
    unwrap(await topic.ack("work", { seqs: [2] })); // nothing parked yet: the message stays unpulled
    const pulls = Array.from({ length: 100 }, () => topic.pull("work", { max: 1, wait: 10_000 }));
    // The two messages published so far are taken by the first pulls to arrive.
    await eventually(async () => (await parkedLongPolls(name)) === 98);
    const withParked = await publishCost();
    // One pull is woken and served; the other 97 stay parked, untouched.
    await eventually(async () => (await parkedLongPolls(name)) === 97);
    expect(withParked - alone).toBeLessThan(20);
    unwrap(await topic.publish(Array.from({ length: 97 }, (_, i) => text(`m${i}`))));
    const answered = (await Promise.all(pulls)).map((r) => unwrap(r).messages.length);
    expect(answered.every((n) => n === 1)).toBe(true);
  });

  it("serve every parked pull when enough arrives at once, each woken by the one before", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("work", { startAt: "latest" }));
    const pulls = Array.from({ length: 3 }, () => topic.pull("work", { max: 1, wait: 10_000 }));
    await eventually(async () => (await parkedLongPolls(name)) === 3);
    unwrap(await topic.publish([text("a"), text("b"), text("c")]));
    const got = (await Promise.all(pulls)).flatMap((r) => unwrap(r).messages.map((m) => m.seq));
    expect(got.sort()).toEqual([1, 2, 3]);
  });

  it("wake every parked read of the log with the message that arrived", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("a")]));
    const reads = Array.from({ length: 5 }, () => topic.read({ after: 1, limit: 10, wait: 10_000 }));
    await eventually(async () => (await parkedLongPolls(name)) === 5);
    unwrap(await topic.publish([text("b")]));
    for (const read of await Promise.all(reads)) expect(unwrap(read).messages.map((m) => m.seq)).toEqual([2]);
  });

  it("answer at once, with a 404, when their subscription or topic is deleted", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.putSubscription("work", {}));
    const pull = topic.pull("work", { max: 1, wait: 20_000 });
    const read = topic.read({ after: 0, limit: 1, wait: 20_000 });
    await eventually(async () => (await parkedLongPolls(name)) === 2);
    unwrap(await topic.deleteSubscription("work"));
    expect(await pull).toMatchObject({ ok: false, code: "not_found" });
    unwrap(await topic.destroy());
    expect(await read).toMatchObject({ ok: false, code: "not_found" });
  });

  it("are bounded per topic: one more than the cap is refused with 429 and Retry-After", async () => {
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("a")]));
    // The cap is 200 in the test configuration (MAX_LONG_POLLS_PER_TOPIC).
    const parked = Array.from({ length: 200 }, () => topic.read({ after: 1, limit: 1, wait: 20_000 }));
    await eventually(async () => (await parkedLongPolls(name)) === 200);
    const refused = await call("GET", `/v1/topics/${name}/messages?after=1&wait=10s`);
    expect(refused.headers.get("retry-after")).toBe("1");
    await expectProblem(refused, 429, "rate_limited");
    unwrap(await topic.publish([text("b")]));
    expect((await Promise.all(parked)).every((r) => r.ok)).toBe(true);
  });
});
