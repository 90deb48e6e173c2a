import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { md5OfAttributes, md5OfBody } from "../../src/http/sqs/md5";
import { expireLeases, freshTopic, sqlIn, topicStub, unwrap } from "./helpers";
import { call, expectJson, readAll } from "./http-support";
import { createQueue, ORIGIN, ok, receive, refused, sqs } from "./sqs-support";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ends the visibility timeout of every message of the queue now, as its alarm would. */
async function timeOut(name: string): Promise<void> {
  await expireLeases(name);
  await runDurableObjectAlarm(topicStub(name));
}

describe("a queue is a topic with the subscription sqs", () => {
  it("creates the topic and its subscription, and the native API sees what SQS sends", async () => {
    const name = freshTopic("q");
    const url = await createQueue(name, { VisibilityTimeout: "45", MessageRetentionPeriod: "3600" });
    expect(url).toBe(`${ORIGIN}/sqs/000000000000/${name}`);
    const sub = await expectJson<{ config: { ackTimeout: number; backoff: { min: number; max: number } } }>(
      await call("GET", `/v1/topics/${name}/subscriptions/sqs`),
      200,
    );
    expect(sub.config).toMatchObject({ ackTimeout: 45_000, backoff: { min: 0, max: 0 } });
    const topic = unwrap(await topicStub(name).info());
    expect(topic.config).toMatchObject({ retention: { maxAge: 3_600_000 }, onFull: "drop-oldest" });

    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "from sqs" }));
    const [message] = await readAll(name);
    expect(message).toMatchObject({ contentType: "text/plain; charset=utf-8", data: "from sqs" });

    await call("POST", `/v1/topics/${name}/messages`, { json: { from: "native" } });
    const bodies = (await receive(url)).map((m) => m.Body);
    expect(bodies).toEqual(["from sqs", '{"from":"native"}']);
  });

  it("answers the same URL for the same name and attributes, QueueNameExists for other attributes", async () => {
    const name = freshTopic("q");
    const url = await createQueue(name, { DelaySeconds: "5" });
    expect(await createQueue(name, { DelaySeconds: "5" })).toBe(url);
    expect(await createQueue(name)).toBe(url);
    await refused(
      sqs("CreateQueue", { QueueName: name, Attributes: { DelaySeconds: "6" } }),
      "QueueNameExists",
      400,
      "QueueAlreadyExists",
    );
    expect(await ok(sqs("GetQueueUrl", { QueueName: name }))).toEqual({ QueueUrl: url });
  });

  it("is not a queue without its subscription, however many messages the topic has", async () => {
    const name = freshTopic("q");
    await call("POST", `/v1/topics/${name}/messages`, { body: "x" });
    await refused(
      sqs("GetQueueUrl", { QueueName: name }),
      "QueueDoesNotExist",
      400,
      "AWS.SimpleQueueService.NonExistentQueue",
    );
    const url = `${ORIGIN}/sqs/000000000000/${name}`;
    await refused(
      sqs("SendMessage", { QueueUrl: url, MessageBody: "y" }),
      "QueueDoesNotExist",
      400,
      "AWS.SimpleQueueService.NonExistentQueue",
    );
    expect((await readAll(name)).length).toBe(1);
    const missing = freshTopic("q");
    const nowhere = `${ORIGIN}/sqs/000000000000/${missing}`;
    await refused(
      sqs("SendMessage", { QueueUrl: nowhere, MessageBody: "y" }),
      "QueueDoesNotExist",
      400,
      "AWS.SimpleQueueService.NonExistentQueue",
    );
    expect((await topicStub(missing).info()).ok).toBe(false);
  });

  it("lists queues by prefix and pages with NextToken, leaving out topics that are not queues", async () => {
    const prefix = freshTopic("list");
    for (const n of ["a", "b", "c"]) await createQueue(`${prefix}-${n}`);
    await call("POST", `/v1/topics/${prefix}-plain/messages`, { body: "x" });
    const first = await ok<{ QueueUrls: string[]; NextToken?: string }>(
      sqs("ListQueues", { QueueNamePrefix: prefix, MaxResults: 2 }),
    );
    expect(first.QueueUrls.map((u) => u.split("/").pop())).toEqual([`${prefix}-a`, `${prefix}-b`]);
    const second = await ok<{ QueueUrls: string[] }>(
      sqs("ListQueues", { QueueNamePrefix: prefix, MaxResults: 2, NextToken: first.NextToken }),
    );
    expect(second.QueueUrls.map((u) => u.split("/").pop())).toEqual([`${prefix}-c`]);
  });

  it("reports attributes from the subscription's stats, and changes them", async () => {
    const name = freshTopic("q");
    const url = await createQueue(name);
    await ok(
      sqs("SendMessageBatch", {
        QueueUrl: url,
        Entries: [1, 2, 3].map((i) => ({ Id: `m${i}`, MessageBody: `${i}` })),
      }),
    );
    await receive(url, { MaxNumberOfMessages: 1 });
    const { Attributes } = await ok<{ Attributes: Record<string, string> }>(
      sqs("GetQueueAttributes", { QueueUrl: url, AttributeNames: ["All"] }),
    );
    expect(Attributes).toMatchObject({
      QueueArn: `arn:aws:sqs:edge:000000000000:${name}`,
      ApproximateNumberOfMessages: "2",
      ApproximateNumberOfMessagesNotVisible: "1",
      VisibilityTimeout: "30",
      MessageRetentionPeriod: "345600",
      DelaySeconds: "0",
      ReceiveMessageWaitTimeSeconds: "0",
      MaximumMessageSize: "262144",
    });
    await ok(
      sqs("SetQueueAttributes", { QueueUrl: url, Attributes: { VisibilityTimeout: "5", DelaySeconds: "2" } }),
    );
    const picked = await ok(
      sqs("GetQueueAttributes", { QueueUrl: url, AttributeNames: ["VisibilityTimeout", "DelaySeconds"] }),
    );
    expect(picked).toEqual({ Attributes: { VisibilityTimeout: "5", DelaySeconds: "2" } });
  });

  it("keeps its settings in SQLite across an eviction", async () => {
    const name = freshTopic("q");
    const url = await createQueue(name, { ReceiveMessageWaitTimeSeconds: "3", MaximumMessageSize: "2048" });
    await evictDurableObject(topicStub(name));
    const { Attributes } = await ok<{ Attributes: Record<string, string> }>(
      sqs("GetQueueAttributes", { QueueUrl: url, AttributeNames: ["All"] }),
    );
    expect(Attributes).toMatchObject({ ReceiveMessageWaitTimeSeconds: "3", MaximumMessageSize: "2048" });
    const [row] = await sqlIn<{ value: string }>(name, "SELECT value FROM queue WHERE key = 'settings'");
    expect(JSON.parse(row?.value ?? "{}")).toMatchObject({
      receiveWaitTimeSeconds: 3,
      maximumMessageSize: 2048,
    });
  });

  it("deletes the topic with the queue, and purges through the subscription", async () => {
    const name = freshTopic("q");
    const url = await createQueue(name);
    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "a" }));
    await ok(sqs("PurgeQueue", { QueueUrl: url }));
    expect(await receive(url)).toEqual([]);
    const sub = unwrap(await topicStub(name).getSubscription("sqs"));
    expect(sub.stats.purged).toBe(1);
    await ok(sqs("DeleteQueue", { QueueUrl: url }));
    expect((await topicStub(name).info()).ok).toBe(false);
    await refused(
      sqs("DeleteQueue", { QueueUrl: url }),
      "QueueDoesNotExist",
      400,
      "AWS.SimpleQueueService.NonExistentQueue",
    );
  });
});

describe("messages", () => {
  it("answers the MD5s SQS computes, for bodies and attributes alike", async () => {
    // Vectors computed by SQS (published with other clients' tests of the same algorithm).
    expect(md5OfAttributes({ SellerName: { DataType: "String", StringValue: "Example Store" } })).toBe(
      "cd28f3b68aeee4b2eac9c66f2f694b58",
    );
    expect(
      md5OfAttributes({
        ordinal: { DataType: "Number", StringValue: "1" },
        category: { DataType: "String", StringValue: "test" },
      }),
    ).toBe("d21ae90c49061e927f57df5f5d72be1f");
    expect(md5OfBody("hello ☃")).toBe(
      createHash("md5").update(new TextEncoder().encode("hello ☃")).digest("hex"),
    );

    const url = await createQueue(freshTopic("q"));
    const attributes = {
      category: { DataType: "String", StringValue: "test" },
      ordinal: { DataType: "Number", StringValue: "1" },
      photo: { DataType: "Binary.png", BinaryValue: btoa("\u0001\u0002\u00ff") },
    };
    const sent = await ok<Record<string, string>>(
      sqs("SendMessage", { QueueUrl: url, MessageBody: "hello ☃", MessageAttributes: attributes }),
    );
    expect(sent.MD5OfMessageBody).toBe(md5OfBody("hello ☃"));
    const [got] = await receive(url, { MessageAttributeNames: ["All"], VisibilityTimeout: 0 });
    expect(got?.MessageAttributes).toEqual(attributes);
    expect(got?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    const [only] = await receive(url, { MessageAttributeNames: ["ordinal", "photo.*"] });
    expect(only?.MessageAttributes).toEqual({ ordinal: attributes.ordinal });
    expect(only?.MD5OfMessageAttributes).toBe(md5OfAttributes({ ordinal: attributes.ordinal }));
  });

  it("delays messages by the queue's DelaySeconds unless a message names its own", async () => {
    const name = freshTopic("q");
    const url = await createQueue(name, { DelaySeconds: "600" });
    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "later" }));
    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "now", DelaySeconds: 0 }));
    expect((await receive(url)).map((m) => m.Body)).toEqual(["now"]);
    const [later] = (await readAll(name)).filter((m) => m.data === "later");
    expect((later?.deliverAt ?? 0) - (later?.publishedAt ?? 0)).toBe(600_000);
  });

  it("refuses a message over the queue's MaximumMessageSize; a batch sends the others", async () => {
    const name = freshTopic("q");
    const url = await createQueue(name, { MaximumMessageSize: "1024" });
    await refused(
      sqs("SendMessage", { QueueUrl: url, MessageBody: "x".repeat(1025) }),
      "InvalidParameterValue",
      400,
    );
    const batch = await ok<{ Successful: { Id: string }[]; Failed: { Id: string; Code: string }[] }>(
      sqs("SendMessageBatch", {
        QueueUrl: url,
        Entries: [
          { Id: "big", MessageBody: "x".repeat(1025) },
          { Id: "small", MessageBody: "y" },
          { Id: "bad", MessageBody: "\u0000" },
        ],
      }),
    );
    expect(batch.Successful.map((s) => s.Id)).toEqual(["small"]);
    expect(batch.Failed.map((f) => [f.Id, f.Code]).sort()).toEqual([
      ["bad", "InvalidMessageContents"],
      ["big", "InvalidParameterValue"],
    ]);
    expect((await readAll(name)).map((m) => m.data)).toEqual(["y"]);
  });

  it("long-polls until a message is sent", async () => {
    const url = await createQueue(freshTopic("q"));
    const polling = ok<{ Messages?: { Body: string }[] }>(
      sqs("ReceiveMessage", { QueueUrl: url, WaitTimeSeconds: 20 }),
    );
    await pause(50);
    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "woke" }));
    expect((await polling).Messages?.map((m) => m.Body)).toEqual(["woke"]);
  });
});

describe("receipt handles", () => {
  it("deletes by the newest handle and refuses one of an earlier receive", async () => {
    const name = freshTopic("q");
    const url = await createQueue(name);
    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "m" }));
    const [first] = await receive(url);
    await timeOut(name);
    const [second] = await receive(url);
    expect(second?.Attributes).toBeUndefined();
    const again = await receive(url, { VisibilityTimeout: 0, AttributeNames: ["ApproximateReceiveCount"] });
    expect(again).toEqual([]);
    await refused(
      sqs("DeleteMessage", { QueueUrl: url, ReceiptHandle: first?.ReceiptHandle }),
      "ReceiptHandleIsInvalid",
      404,
    );
    await refused(
      sqs("ChangeMessageVisibility", {
        QueueUrl: url,
        ReceiptHandle: first?.ReceiptHandle,
        VisibilityTimeout: 10,
      }),
      "ReceiptHandleIsInvalid",
      404,
    );
    await ok(sqs("DeleteMessage", { QueueUrl: url, ReceiptHandle: second?.ReceiptHandle }));
    await ok(sqs("DeleteMessage", { QueueUrl: url, ReceiptHandle: second?.ReceiptHandle })); // twice is harmless
    expect(unwrap(await topicStub(name).getSubscription("sqs")).stats.acked).toBe(1);
  });

  it("refuses a handle of the queue before it was deleted and made again", async () => {
    const name = freshTopic("q");
    const url = await createQueue(name);
    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "old" }));
    const [old] = await receive(url);
    await ok(sqs("DeleteQueue", { QueueUrl: url }));
    await createQueue(name);
    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "new" }));
    await receive(url);
    await refused(
      sqs("DeleteMessage", { QueueUrl: url, ReceiptHandle: old?.ReceiptHandle }),
      "ReceiptHandleIsInvalid",
      404,
    );
    expect(unwrap(await topicStub(name).getSubscription("sqs")).stats.acked).toBe(0);
  });

  it("makes a message visible at once with a visibility of 0, and counts each receive", async () => {
    const url = await createQueue(freshTopic("q"));
    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "m" }));
    const [first] = await receive(url);
    await ok(
      sqs("ChangeMessageVisibility", {
        QueueUrl: url,
        ReceiptHandle: first?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const [second] = await receive(url, { AttributeNames: ["ApproximateReceiveCount"] });
    expect(second?.Attributes).toEqual({ ApproximateReceiveCount: "2" });
    await refused(
      sqs("ChangeMessageVisibility", {
        QueueUrl: url,
        ReceiptHandle: first?.ReceiptHandle,
        VisibilityTimeout: 5,
      }),
      "ReceiptHandleIsInvalid",
      404,
    );
    const batch = await ok<{ Successful: { Id: string }[]; Failed: { Id: string; Code: string }[] }>(
      sqs("ChangeMessageVisibilityBatch", {
        QueueUrl: url,
        Entries: [
          { Id: "new", ReceiptHandle: second?.ReceiptHandle, VisibilityTimeout: 60 },
          { Id: "old", ReceiptHandle: first?.ReceiptHandle, VisibilityTimeout: 60 },
          { Id: "junk", ReceiptHandle: "bm90IGEgaGFuZGxl", VisibilityTimeout: 60 },
        ],
      }),
    );
    expect(batch.Successful).toEqual([{ Id: "new" }]);
    expect(batch.Failed.map((f) => [f.Id, f.Code]).sort()).toEqual([
      ["junk", "ReceiptHandleIsInvalid"],
      ["old", "ReceiptHandleIsInvalid"],
    ]);
    const deleted = await ok<{ Successful: { Id: string }[] }>(
      sqs("DeleteMessageBatch", {
        QueueUrl: url,
        Entries: [{ Id: "a", ReceiptHandle: second?.ReceiptHandle }],
      }),
    );
    expect(deleted.Successful).toEqual([{ Id: "a" }]);
  });
});

describe("dead letters", () => {
  it("moves a message received maxReceiveCount times to the RedrivePolicy's queue", async () => {
    const name = freshTopic("q");
    const dlqUrl = await createQueue(`${name}-dlq`);
    const arn = `arn:aws:sqs:edge:000000000000:${name}-dlq`;
    const url = await createQueue(name, {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 2 }),
    });
    await ok(sqs("SendMessage", { QueueUrl: url, MessageBody: "poison" }));
    for (let i = 0; i < 2; i++) {
      expect((await receive(url)).length).toBe(1);
      await timeOut(name);
    }
    let dead: { Body: string }[] = [];
    for (let i = 0; i < 100 && dead.length === 0; i++) {
      expect(await receive(url)).toEqual([]);
      dead = await receive(dlqUrl, { MessageAttributeNames: ["All"] });
      if (dead.length === 0) await pause(20);
    }
    expect(dead.map((m) => m.Body)).toEqual(["poison"]);
  });

  it("refuses a RedrivePolicy whose queue does not exist, or is the queue itself", async () => {
    const name = freshTopic("q");
    const policy = (target: string) =>
      JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:edge:000000000000:${target}`, maxReceiveCount: 3 });
    await refused(
      sqs("CreateQueue", { QueueName: name, Attributes: { RedrivePolicy: policy(`${name}-none`) } }),
      "InvalidParameterValue",
      400,
    );
    expect((await topicStub(name).info()).ok).toBe(false);
    const url = await createQueue(name);
    await refused(
      sqs("SetQueueAttributes", { QueueUrl: url, Attributes: { RedrivePolicy: policy(name) } }),
      "InvalidParameterValue",
      400,
    );
  });
});
