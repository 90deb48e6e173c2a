import { describe, expect, it } from "vitest";
import type { WireMessage } from "../../src/protocol/message";
import { eventually, freshTopic, parkedLongPolls } from "./helpers";
import { call, expectJson, expectProblem } from "./http-support";

type Page = { messages: WireMessage[]; next: number; epoch: string };

async function topicWith(count: number): Promise<string> {
  const topic = freshTopic();
  const messages = Array.from({ length: count }, (_, i) => ({
    data: `m${i + 1}`,
    contentType: "text/plain",
  }));
  await expectJson(await call("POST", `/v1/topics/${topic}/batch`, { json: { messages } }), 201);
  return topic;
}

const read = (topic: string, query = "") => call("GET", `/v1/topics/${topic}/messages${query}`);

describe("GET /v1/topics/{topic}/messages", () => {
  it("reads from the oldest message without after, and pages on with next", async () => {
    const topic = await topicWith(5);
    const first = await expectJson<Page>(await read(topic, "?limit=2"), 200);
    expect(first.messages.map((m) => m.data)).toEqual(["m1", "m2"]);
    expect(first.epoch).toEqual(expect.any(String));
    const rest = await expectJson<Page>(await read(topic, `?after=${first.next}`), 200);
    expect(rest.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(rest.epoch).toBe(first.epoch);
    expect(rest.messages[0]).toMatchObject({
      seq: 3,
      contentType: "text/plain",
      attributes: {},
      publishedAt: expect.any(Number),
    });
  });

  it("returns at most 100 messages by default", async () => {
    const topic = await topicWith(150);
    expect((await expectJson<Page>(await read(topic), 200)).messages).toHaveLength(100);
  });

  it("answers not_found for a topic that does not exist", async () => {
    await expectProblem(await read(freshTopic()), 404, "not_found");
  });

  it.each([
    ["?limit=0", "limit must be an integer between 1 and 1000"],
    ["?limit=1001", "limit must be an integer between 1 and 1000"],
    ["?limit=ten", "limit must be an integer between 1 and 1000"],
    ["?after=-1", /^after must be an integer between 0 and/],
    ["?after=1.5", /^after must be an integer between 0 and/],
    ["?wait=31s", "wait must be a duration between 0ms and 30s"],
    ["?wait=later", "wait must be a duration between 0ms and 30s"],
  ])("refuses %s", async (query, detail) => {
    const topic = await topicWith(1);
    const problem = await expectProblem(await read(topic, query), 400, "invalid_request");
    if (typeof detail === "string") expect(problem.detail).toBe(detail);
    else expect(problem.detail).toMatch(detail);
  });

  it("long-polls with wait until a message is published", async () => {
    const topic = await topicWith(1);
    const started = Date.now();
    const polling = read(topic, "?after=1&wait=10s");
    // Publish only once the read is parked: a publish that came first would be read at once.
    await eventually(async () => (await parkedLongPolls(topic)) === 1);
    await expectJson(
      await call("POST", `/v1/topics/${topic}/messages`, {
        body: "late",
        headers: { "content-type": "text/plain" },
      }),
      201,
    );
    const page = await expectJson<Page>(await polling, 200);
    expect(page.messages.map((m) => m.data)).toEqual(["late"]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("answers an empty page after wait runs out", async () => {
    const topic = await topicWith(1);
    const page = await expectJson<Page>(await read(topic, "?after=1&wait=300ms"), 200);
    expect(page).toMatchObject({ messages: [], next: 1 });
  });
});
