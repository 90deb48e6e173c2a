import { runDurableObjectAlarm } from "cloudflare:test";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expireLeases, freshTopic, topicStub, unwrap } from "./helpers";
import { call, expectJson } from "./http-support";
import { createQueue, ok, type Received, receive, refused, sqs } from "./sqs-support";

const fifoName = () => `${freshTopic("q")}.fifo`;
const FIFO = { FifoQueue: "true" };
const ALL = { MessageSystemAttributeNames: ["All"] };

async function send(QueueUrl: string, body: string, group: string, dedup = body) {
  return ok<{ MessageId: string; SequenceNumber: string }>(
    sqs("SendMessage", { QueueUrl, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: dedup }),
  );
}

async function remove(QueueUrl: string, messages: Received[]): Promise<void> {
  for (const m of messages) await ok(sqs("DeleteMessage", { QueueUrl, ReceiptHandle: m.ReceiptHandle }));
}

describe("FIFO queues", () => {
  it("are an ordered subscription, with FIFO attributes and a 5-minute dedup window", async () => {
    const name = fifoName();
    const url = await createQueue(name, { ...FIFO, ContentBasedDeduplication: "true" });
    const sub = await expectJson<{ config: { ordered: boolean } }>(
      await call("GET", `/v1/topics/${name}/subscriptions/sqs`),
      200,
    );
    expect(sub.config.ordered).toBe(true);
    expect(unwrap(await topicStub(name).info()).config.dedupWindow).toBe(300_000);
    const { Attributes } = await ok<{ Attributes: Record<string, string> }>(
      sqs("GetQueueAttributes", { QueueUrl: url, AttributeNames: ["All"] }),
    );
    expect(Attributes).toMatchObject({ FifoQueue: "true", ContentBasedDeduplication: "true" });
    // The same attributes again (or fewer) are the same queue; others are another queue.
    expect(await createQueue(name, { ...FIFO, ContentBasedDeduplication: "true" })).toBe(url);
    expect(await createQueue(name, FIFO)).toBe(url);
    await refused(
      sqs("CreateQueue", { QueueName: name, Attributes: { ...FIFO, ContentBasedDeduplication: "false" } }),
      "QueueNameExists",
      400,
      "QueueAlreadyExists",
    );
    await ok(
      sqs("SetQueueAttributes", { QueueUrl: url, Attributes: { ContentBasedDeduplication: "false" } }),
    );
    const after = await ok<{ Attributes: Record<string, string> }>(
      sqs("GetQueueAttributes", { QueueUrl: url, AttributeNames: ["ContentBasedDeduplication"] }),
    );
    expect(after.Attributes).toEqual({ ContentBasedDeduplication: "false" });
  });

  it("keep one message of a group in flight while another group proceeds", async () => {
    const url = await createQueue(fifoName(), FIFO);
    for (const [body, group] of [
      ["a1", "A"],
      ["b1", "B"],
      ["a2", "A"],
      ["b2", "B"],
      ["a3", "A"],
    ]) {
      await send(url, body as string, group as string);
    }
    const first = await receive(url, ALL);
    expect(first.map((m) => m.Body)).toEqual(["a1", "b1"]);
    expect(first.map((m) => m.Attributes?.MessageGroupId)).toEqual(["A", "B"]);
    // a1 is in flight: nothing more of A, while B moves on once b1 is deleted.
    expect(await receive(url)).toEqual([]);
    await remove(
      url,
      first.filter((m) => m.Body === "b1"),
    );
    const b2 = await receive(url);
    expect(b2.map((m) => m.Body)).toEqual(["b2"]);
    await remove(url, b2);
    expect(await receive(url)).toEqual([]);
    // a1's visibility ends undeleted: it comes again, before a2.
    await expireLeases(url.split("/").pop() as string);
    await runDurableObjectAlarm(topicStub(url.split("/").pop() as string));
    const again = await receive(url, ALL);
    expect(again.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([["a1", "2"]]);
    await remove(url, again);
    const next = await receive(url);
    expect(next.map((m) => m.Body)).toEqual(["a2"]);
    await remove(url, next);
    expect((await receive(url)).map((m) => m.Body)).toEqual(["a3"]);
  });

  it("deduplicate by MessageDeduplicationId, answering the first send's id and sequence number", async () => {
    const url = await createQueue(fifoName(), FIFO);
    const a = await send(url, "one", "g", "d1");
    const b = await send(url, "one again", "g", "d1");
    const c = await send(url, "two", "g", "d2");
    expect(b).toMatchObject({ MessageId: a.MessageId, SequenceNumber: a.SequenceNumber });
    expect(Number(c.SequenceNumber)).toBeGreaterThan(Number(a.SequenceNumber));
    const [message] = await receive(url, { AttributeNames: ["All"], MessageAttributeNames: ["All"] });
    expect(message?.Body).toBe("one");
    expect(message?.Attributes).toMatchObject({
      MessageGroupId: "g",
      MessageDeduplicationId: "d1",
      SequenceNumber: a.SequenceNumber,
    });
    expect(message?.MessageAttributes).toBeUndefined();
  });

  it("deduplicate by the body's SHA-256 with ContentBasedDeduplication, in batches too", async () => {
    const url = await createQueue(fifoName(), { ...FIFO, ContentBasedDeduplication: "true" });
    const batch = await ok<{ Successful: { Id: string; MessageId: string; SequenceNumber: string }[] }>(
      sqs("SendMessageBatch", {
        QueueUrl: url,
        Entries: [
          { Id: "x", MessageBody: "same", MessageGroupId: "g" },
          { Id: "y", MessageBody: "same", MessageGroupId: "h" },
          { Id: "z", MessageBody: "other", MessageGroupId: "g" },
        ],
      }),
    );
    const [x, y, z] = batch.Successful;
    expect(y?.MessageId).toBe(x?.MessageId);
    expect(z?.MessageId).not.toBe(x?.MessageId);
    const received = await receive(url, { MessageSystemAttributeNames: ["MessageDeduplicationId"] });
    expect(received.map((m) => [m.Body, m.Attributes?.MessageDeduplicationId])).toEqual([
      ["same", createHash("sha256").update("same").digest("hex")],
    ]);
  });

  it("refuse what SQS refuses, and send nothing", async () => {
    const name = fifoName();
    const QueueUrl = await createQueue(name, FIFO);
    const cases: [unknown, string][] = [
      [{ QueueUrl, MessageBody: "x", MessageDeduplicationId: "d" }, "MissingParameter"],
      [{ QueueUrl, MessageBody: "x", MessageGroupId: "g" }, "InvalidParameterValue"],
      [
        { QueueUrl, MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "d", DelaySeconds: 1 },
        "InvalidParameterValue",
      ],
      [
        { QueueUrl, MessageBody: "x", MessageGroupId: "g g", MessageDeduplicationId: "d" },
        "InvalidParameterValue",
      ],
      [
        { QueueUrl, MessageBody: "x", MessageGroupId: "g", MessageDeduplicationId: "" },
        "InvalidParameterValue",
      ],
    ];
    for (const [input, type] of cases) await refused(sqs("SendMessage", input), type, 400);
    const batch = await ok<{ Successful: unknown[]; Failed: { Id: string; Code: string }[] }>(
      sqs("SendMessageBatch", { QueueUrl, Entries: [{ Id: "a", MessageBody: "x", MessageGroupId: "g" }] }),
    );
    expect(batch).toMatchObject({ Successful: [], Failed: [{ Id: "a", Code: "InvalidParameterValue" }] });
    expect(await receive(QueueUrl)).toEqual([]);

    const standard = freshTopic("q");
    for (const [input, type] of [
      [{ QueueName: fifoName() }, "InvalidParameterValue"],
      [{ QueueName: fifoName(), Attributes: { FifoQueue: "false" } }, "InvalidParameterValue"],
      [{ QueueName: standard, Attributes: FIFO }, "InvalidAttributeValue"],
      [{ QueueName: standard, Attributes: { ContentBasedDeduplication: "true" } }, "InvalidAttributeValue"],
      [{ QueueName: fifoName(), Attributes: { FifoQueue: "yes" } }, "InvalidAttributeValue"],
    ] as [unknown, string][]) {
      await refused(sqs("CreateQueue", input), type, 400);
    }
    expect((await topicStub(standard).info()).ok).toBe(false);
    await refused(
      sqs("SetQueueAttributes", { QueueUrl, Attributes: { FifoQueue: "false" } }),
      "InvalidAttributeValue",
      400,
    );
  });

  it("leave a standard queue's group id as the key and refuse its deduplication id", async () => {
    const url = await createQueue(freshTopic("q"));
    const sent = await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "x", MessageGroupId: "g" }));
    expect(sent.SequenceNumber).toBeUndefined();
    await refused(
      sqs("SendMessage", { QueueUrl: url, MessageBody: "x", MessageDeduplicationId: "d" }),
      "InvalidParameterValue",
      400,
    );
    const [message] = await receive(url, ALL);
    expect(message?.Attributes?.MessageGroupId).toBe("g");
    expect(message?.Attributes?.SequenceNumber).toBeUndefined();
  });
});
