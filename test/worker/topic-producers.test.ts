import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshTopic, sqlIn, topicStub } from "./helpers";
import { call, expectJson, expectProblem, readAll } from "./http-support";

const stamp = (id: string, epoch: number, seq: number) => ({
  "Producer-Id": id,
  "Producer-Epoch": String(epoch),
  "Producer-Seq": String(seq),
});
const publish = (topic: string, headers: Record<string, string>, body = "x") =>
  call("POST", `/v1/topics/${topic}/messages`, {
    body,
    headers: { "content-type": "text/plain", ...headers },
  });

describe("idempotent producers on the native API", () => {
  it("stores a producer's request once, and answers its retry as a duplicate with the seq it stored", async () => {
    const topic = freshTopic();
    const first = await expectJson(await publish(topic, stamp("p", 0, 0), "one"), 201);
    expect(first).toEqual({
      seq: 1,
      id: expect.any(String),
      duplicate: false,
      producer: { id: "p", epoch: 0, seq: 0 },
    });
    const retry = await expectJson(await publish(topic, stamp("p", 0, 0), "one"), 201);
    expect(retry).toEqual({ seq: 1, duplicate: true, producer: { id: "p", epoch: 0, seq: 0 } });
    await expectJson(await publish(topic, stamp("p", 0, 1), "two"), 201);
    expect((await readAll(topic)).map((m) => m.data)).toEqual(["one", "two"]);
  });

  it("fences an older epoch with 403, refuses a gap with 409, and a new epoch not at seq 0 with 400", async () => {
    const topic = freshTopic();
    await expectJson(await publish(topic, stamp("p", 1, 0)), 201);
    const fenced = await publish(topic, stamp("p", 0, 1));
    await expectProblem(fenced, 403, "forbidden");
    expect(fenced.headers.get("Producer-Epoch")).toBe("1");
    const gap = await publish(topic, stamp("p", 1, 5));
    await expectProblem(gap, 409, "conflict");
    expect(gap.headers.get("Producer-Expected-Seq")).toBe("1");
    await expectProblem(await publish(topic, stamp("p", 2, 3)), 400, "invalid_request");
    await expectProblem(await publish(topic, { "Producer-Id": "p" }), 400, "invalid_request");
    expect(await readAll(topic)).toHaveLength(1);
  });

  it("takes a producer in a batch, all messages or none", async () => {
    const topic = freshTopic();
    const body = JSON.stringify({
      producer: { id: "b", epoch: 0, seq: 0 },
      messages: [{ data: 1 }, { data: 2 }],
    });
    const json = { "content-type": "application/json" };
    const stored = await expectJson<{ messages: unknown[] }>(
      await call("POST", `/v1/topics/${topic}/batch`, { body, headers: json }),
      201,
    );
    expect(stored.messages).toHaveLength(2);
    const again = await expectJson(
      await call("POST", `/v1/topics/${topic}/batch`, { body, headers: json }),
      201,
    );
    expect(again).toMatchObject({ seq: 2, duplicate: true });
    expect(await readAll(topic)).toHaveLength(2);
  });

  it("keeps producer state in SQLite: an evicted object still knows the duplicate", async () => {
    const topic = freshTopic();
    await expectJson(await publish(topic, stamp("p", 0, 0)), 201);
    expect(await sqlIn(topic, "SELECT id, epoch, seq, last_seq FROM producers")).toEqual([
      { id: "p", epoch: 0, seq: 0, last_seq: 1 },
    ]);
    await evictDurableObject(topicStub(topic));
    expect(await expectJson(await publish(topic, stamp("p", 0, 0)), 201)).toMatchObject({ duplicate: true });
  });

  it("refuses every publish to a topic closed as a stream, and writes nothing", async () => {
    const topic = freshTopic();
    await expectJson(await publish(topic, {}), 201);
    const close = await call("POST", `/ds/v1/stream/${topic}`, { headers: { "Stream-Closed": "true" } });
    expect(close.status).toBe(204);
    await expectProblem(await publish(topic, {}), 409, "conflict");
    await expectProblem(await publish(topic, stamp("p", 0, 0)), 409, "conflict");
    expect(await readAll(topic)).toHaveLength(1);
  });
});
