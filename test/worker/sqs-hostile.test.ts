import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { freshTopic, topicStub } from "./helpers";
import { readAll } from "./http-support";
import { createQueue, ORIGIN, refused, sqs } from "./sqs-support";

const QUERY = {
  QueueDoesNotExist: "AWS.SimpleQueueService.NonExistentQueue",
  EmptyBatchRequest: "AWS.SimpleQueueService.EmptyBatchRequest",
  TooManyEntriesInBatchRequest: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
  BatchEntryIdsNotDistinct: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
  InvalidBatchEntryId: "AWS.SimpleQueueService.InvalidBatchEntryId",
  UnsupportedOperation: "AWS.SimpleQueueService.UnsupportedOperation",
} as Record<string, string>;

describe("hostile SQS requests", () => {
  it("answers what is not an SQS call in SQS's shape", async () => {
    const get = await exports.default.fetch(new Request(`${ORIGIN}/sqs/`));
    await refused(Promise.resolve(get), "InvalidAction", 400);
    await refused(sqs("Frobnicate", {}), "UnknownOperationException", 400);
    await refused(sqs("TagQueue", {}), "UnsupportedOperation", 400, QUERY.UnsupportedOperation);
    await refused(sqs("__proto__", {}), "UnknownOperationException", 400);
    await refused(sqs("ListQueues", "{not json"), "InvalidParameterValue", 400);
    await refused(sqs("ListQueues", "[1,2]"), "InvalidParameterValue", 400);
  });

  it("refuses bad queue names and attributes, and creates nothing", async () => {
    const name = freshTopic("q");
    const cases: [unknown, string][] = [
      [{}, "MissingParameter"],
      [{ QueueName: "has space" }, "InvalidParameterValue"],
      [{ QueueName: `${name}.fifo` }, "InvalidParameterValue"],
      [{ QueueName: name, Attributes: { FifoQueue: "true" } }, "InvalidAttributeValue"],
      [{ QueueName: name, Attributes: { VisibilityTimeout: "43201" } }, "InvalidAttributeValue"],
      [{ QueueName: name, Attributes: { DelaySeconds: "-1" } }, "InvalidAttributeValue"],
      [{ QueueName: name, Attributes: { MessageRetentionPeriod: "1e3" } }, "InvalidAttributeValue"],
      [{ QueueName: name, Attributes: { Policy: "{}" } }, "InvalidAttributeName"],
      [{ QueueName: name, Attributes: { RedrivePolicy: "{" } }, "InvalidAttributeValue"],
      [
        { QueueName: name, Attributes: { RedrivePolicy: '{"deadLetterTargetArn":"x","maxReceiveCount":1}' } },
        "InvalidAttributeValue",
      ],
      [{ QueueName: name, Attributes: { VisibilityTimeout: 30 } }, "InvalidAttributeValue"],
      [{ QueueName: name, tags: { team: "a" } }, "InvalidParameterValue"],
    ];
    for (const [input, type] of cases) await refused(sqs("CreateQueue", input), type, 400);
    expect((await topicStub(name).info()).ok).toBe(false);
  });

  it("refuses bad messages and batches, and sends nothing", async () => {
    const name = freshTopic("q");
    const QueueUrl = await createQueue(name);
    const entry = (id: string) => ({ Id: id, MessageBody: "x" });
    const cases: [string, unknown, string][] = [
      ["SendMessage", { QueueUrl }, "MissingParameter"],
      ["SendMessage", { QueueUrl, MessageBody: 5 }, "InvalidMessageContents"],
      ["SendMessage", { QueueUrl, MessageBody: "a\u0001b" }, "InvalidMessageContents"],
      ["SendMessage", { QueueUrl, MessageBody: "\ud800" }, "InvalidMessageContents"],
      ["SendMessage", { QueueUrl, MessageBody: "x", DelaySeconds: 901 }, "InvalidParameterValue"],
      ["SendMessage", { QueueUrl, MessageBody: "x", DelaySeconds: "5" }, "InvalidParameterValue"],
      ["SendMessage", { QueueUrl, MessageBody: "x", MessageDeduplicationId: "d" }, "InvalidParameterValue"],
      ["SendMessage", { QueueUrl: "not a url", MessageBody: "x" }, "QueueDoesNotExist"],
      ["SendMessage", { QueueUrl: `${QueueUrl}/../other`, MessageBody: "x" }, "QueueDoesNotExist"],
      ["SendMessageBatch", { QueueUrl, Entries: [] }, "EmptyBatchRequest"],
      [
        "SendMessageBatch",
        { QueueUrl, Entries: Array.from({ length: 11 }, (_, i) => entry(`e${i}`)) },
        "TooManyEntriesInBatchRequest",
      ],
      ["SendMessageBatch", { QueueUrl, Entries: [entry("a"), entry("a")] }, "BatchEntryIdsNotDistinct"],
      ["SendMessageBatch", { QueueUrl, Entries: [entry("no spaces")] }, "InvalidBatchEntryId"],
      ["ReceiveMessage", { QueueUrl, MaxNumberOfMessages: 11 }, "InvalidParameterValue"],
      ["ReceiveMessage", { QueueUrl, WaitTimeSeconds: 21 }, "InvalidParameterValue"],
      ["ReceiveMessage", { QueueUrl, AttributeNames: ["Nope"] }, "InvalidAttributeName"],
      ["DeleteMessage", { QueueUrl, ReceiptHandle: "garbage" }, "ReceiptHandleIsInvalid"],
      [
        "ChangeMessageVisibility",
        { QueueUrl, ReceiptHandle: "garbage", VisibilityTimeout: 1 },
        "ReceiptHandleIsInvalid",
      ],
    ];
    for (const [operation, input, type] of cases) {
      const status = type === "ReceiptHandleIsInvalid" ? 404 : 400;
      await refused(sqs(operation, input), type, status, QUERY[type] ?? type);
    }
    expect(await readAll(name)).toEqual([]);
  });

  it("refuses any malformed message attribute, naming it, and sends nothing", async () => {
    const name = freshTopic("q");
    const QueueUrl = await createQueue(name);
    const badName = fc.oneof(
      fc.constantFrom(
        "",
        ".a",
        "a.",
        "a..b",
        "AWS.x",
        "amazon.y",
        "dead-letter.topic",
        "Broker.hops",
        "sp ace",
        "ü",
      ),
      fc.string({ minLength: 257, maxLength: 300 }),
    );
    const badValue = fc.constantFrom(
      { DataType: "String" },
      { DataType: "String", StringValue: "" },
      { DataType: "Number", StringValue: "twelve" },
      { DataType: "Binary", BinaryValue: "%%%" },
      { DataType: "Float", StringValue: "1" },
      { DataType: "String", StringListValues: ["a"] },
      "plain",
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          badName.map((n) => ({ [n]: { DataType: "String", StringValue: "v" } })),
          badValue.map((v) => ({ ok: { DataType: "String", StringValue: "v" }, bad: v })),
          fc.constant(
            Object.fromEntries(
              Array.from({ length: 11 }, (_, i) => [`a${i}`, { DataType: "String", StringValue: "v" }]),
            ),
          ),
        ),
        async (MessageAttributes) => {
          await refused(
            sqs("SendMessage", { QueueUrl, MessageBody: "x", MessageAttributes }),
            "InvalidParameterValue",
            400,
          );
        },
      ),
      { numRuns: 40 },
    );
    expect(await readAll(name)).toEqual([]);
  });
});
