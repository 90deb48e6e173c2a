/**
 * `@aws-sdk/client-sqs` and `sqs-consumer`, unmodified, against a real broker with auth on (SigV4
 * signed with the admin key): every operation SQS programs lean on, visibility timeouts that run
 * out, a FIFO queue's groups and deduplication, redrive to a dead-letter queue, a `kill -9` of the broker, and the README's example.
 */
import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  type Message,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { Consumer } from "sqs-consumer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Broker, removeState, startBroker } from "./harness";

const run = promisify(execFile);
const ADMIN_KEY = "an-admin-key-for-sqs-e2e";
const ROOT = path.resolve(import.meta.dirname, "../..");

let broker: Broker;
let sqs: SQSClient;
let stateDir: string;

const client = (url: string, secretAccessKey = ADMIN_KEY) =>
  new SQSClient({
    endpoint: `${url}/sqs`,
    region: "us-east-1",
    credentials: { accessKeyId: "e2e", secretAccessKey },
    maxAttempts: 1,
  });

const fresh = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

async function start(dir?: string): Promise<void> {
  broker = await startBroker({ vars: { AUTH: "required", ADMIN_KEY }, ...(dir ? { stateDir: dir } : {}) });
  stateDir = broker.stateDir;
  sqs = client(broker.url);
}

async function receiveAll(QueueUrl: string, want: number, extra: object = {}): Promise<Message[]> {
  const got: Message[] = [];
  for (let i = 0; i < 20 && got.length < want; i++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2, ...extra }),
    );
    got.push(...Messages);
  }
  return got;
}

beforeAll(async () => {
  await start();
});

afterAll(async () => {
  await broker?.stop();
  if (broker) await removeState(broker);
});

describe("@aws-sdk/client-sqs against a real broker", () => {
  it("creates, sends, sends a batch, receives with a long poll, and deletes", async () => {
    const QueueName = fresh("orders");
    const { QueueUrl = "" } = await sqs.send(new CreateQueueCommand({ QueueName }));
    expect(QueueUrl).toBe(`${broker.url}/sqs/000000000000/${QueueName}`);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName }))).QueueUrl).toBe(QueueUrl);
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: QueueName }))).QueueUrls).toEqual([
      QueueUrl,
    ]);

    // A long poll parked before the send is woken by it.
    const polling = sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20, MessageAttributeNames: ["All"] }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: JSON.stringify({ order: 1 }),
        MessageAttributes: {
          region: { DataType: "String", StringValue: "eu" },
          total: { DataType: "Number", StringValue: "42.5" },
        },
      }),
    );
    const { Messages: [first] = [] } = await polling;
    expect(first?.Body).toBe('{"order":1}');
    expect(first?.MessageId).toBe(sent.MessageId);
    expect(first?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(first?.MessageAttributes?.total).toEqual({ DataType: "Number", StringValue: "42.5" });
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: first?.ReceiptHandle }));

    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: ["a", "b", "c"].map((b) => ({ Id: b, MessageBody: b })),
      }),
    );
    expect(batch.Successful?.map((s) => s.Id)).toEqual(["a", "b", "c"]);
    const got = await receiveAll(QueueUrl, 3);
    expect(got.map((m) => m.Body).sort()).toEqual(["a", "b", "c"]);
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: got.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    expect(deleted.Successful).toHaveLength(3);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }),
    );
    expect(Attributes).toMatchObject({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "0",
    });
  });

  it("makes a message visible again when its visibility timeout runs out, and counts the receives", async () => {
    const { QueueUrl = "" } = await sqs.send(
      new CreateQueueCommand({ QueueName: fresh("visibility"), Attributes: { VisibilityTimeout: "1" } }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "again" }));
    const [first] = await receiveAll(QueueUrl, 1);
    const [second] = await receiveAll(QueueUrl, 1, {
      MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    });
    expect(second?.Body).toBe("again");
    expect(second?.Attributes?.ApproximateReceiveCount).toBe("2");
    // The first receive's handle is stale now; the newest one deletes.
    await expect(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl,
          ReceiptHandle: first?.ReceiptHandle,
          VisibilityTimeout: 30,
        }),
      ),
    ).rejects.toMatchObject({ name: "ReceiptHandleIsInvalid" });
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: second?.ReceiptHandle }));
  });

  it("moves a message to the dead-letter queue after maxReceiveCount receives, and purges", async () => {
    const dlq = fresh("dead");
    const { QueueUrl: deadUrl = "" } = await sqs.send(new CreateQueueCommand({ QueueName: dlq }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: deadUrl, AttributeNames: ["QueueArn"] }),
    );
    const RedrivePolicy = JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 2 });
    const { QueueUrl = "" } = await sqs.send(
      new CreateQueueCommand({
        QueueName: fresh("work"),
        Attributes: { VisibilityTimeout: "1", RedrivePolicy },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "poison" }));
    expect(await receiveAll(QueueUrl, 1)).toHaveLength(1);
    expect(await receiveAll(QueueUrl, 1)).toHaveLength(1);
    const dead = await receiveAll(deadUrl, 1);
    expect(dead.map((m) => m.Body)).toEqual(["poison"]);
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 }));
    expect(Messages).toEqual([]);

    await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: deadUrl, Entries: [{ Id: "x", MessageBody: "x" }] }),
    );
    await sqs.send(new PurgeQueueCommand({ QueueUrl: deadUrl }));
    const after = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: deadUrl, AttributeNames: ["All"] }),
    );
    expect(after.Attributes).toMatchObject({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "0",
    });
  });

  it("raises the SDK's own exceptions, and refuses a wrong secret", async () => {
    const missing = `${broker.url}/sqs/000000000000/${fresh("missing")}`;
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: missing, MessageBody: "x" })),
    ).rejects.toBeInstanceOf(QueueDoesNotExist);
    await expect(
      client(broker.url, "a-wrong-secret-000000").send(new ListQueuesCommand({})),
    ).rejects.toMatchObject({
      name: "SignatureDoesNotMatch",
      $metadata: { httpStatusCode: 403 },
    });
  });

  it("keeps a FIFO queue's groups in order, one message in flight each, and deduplicates", async () => {
    const QueueName = `${fresh("fifo")}.fifo`;
    const Attributes = { FifoQueue: "true", ContentBasedDeduplication: "true" };
    const { QueueUrl = "" } = await sqs.send(new CreateQueueCommand({ QueueName, Attributes }));
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: "a1", MessageBody: "a1", MessageGroupId: "A" },
          { Id: "b1", MessageBody: "b1", MessageGroupId: "B" },
          { Id: "a2", MessageBody: "a2", MessageGroupId: "A" },
        ],
      }),
    );
    expect(batch.Failed ?? []).toEqual([]);
    const sequence = (batch.Successful ?? []).map((e) => Number(e.SequenceNumber));
    expect(sequence).toEqual([...sequence].sort((x, y) => x - y));
    // The same body in the same group within 5 minutes is the first message again.
    const again = await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: "a1", MessageGroupId: "A" }),
    );
    expect(again.MessageId).toBe(batch.Successful?.[0]?.MessageId);
    const byId = await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: "b2",
        MessageGroupId: "B",
        MessageDeduplicationId: "b2",
      }),
    );
    const byIdAgain = await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: "b2!",
        MessageGroupId: "B",
        MessageDeduplicationId: "b2",
      }),
    );
    expect(byIdAgain.MessageId).toBe(byId.MessageId);

    const receive = async () =>
      (
        await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ["All"],
          }),
        )
      ).Messages ?? [];
    const remove = (m: Message) =>
      sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle ?? "" }));
    const first = await receive();
    expect(first.map((m) => [m.Body, m.Attributes?.MessageGroupId])).toEqual([
      ["a1", "A"],
      ["b1", "B"],
    ]);
    expect(first[0]?.Attributes?.SequenceNumber).toBe(String(sequence[0]));
    // a1 stays in flight: group B moves on, group A waits.
    await remove(first[1] as Message);
    expect((await receive()).map((m) => m.Body)).toEqual(["b2"]);
    await remove(first[0] as Message);
    expect((await receive()).map((m) => m.Body)).toEqual(["a2"]);

    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
    expect(attributes.Attributes).toMatchObject(Attributes);
    await expect(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" }))).rejects.toMatchObject({
      name: "MissingParameter",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      sqs.send(new CreateQueueCommand({ QueueName: fresh("plain"), Attributes: { FifoQueue: "true" } })),
    ).rejects.toMatchObject({ name: "InvalidAttributeValue", $metadata: { httpStatusCode: 400 } });
  });

  it("feeds sqs-consumer, which deletes what it handled", async () => {
    const { QueueUrl = "" } = await sqs.send(new CreateQueueCommand({ QueueName: fresh("consumed") }));
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: Array.from({ length: 5 }, (_, i) => ({ Id: `m${i}`, MessageBody: `${i}` })),
      }),
    );
    const handled: string[] = [];
    const consumer = Consumer.create({
      queueUrl: QueueUrl,
      sqs,
      batchSize: 10,
      waitTimeSeconds: 1,
      handleMessage: async (message) => {
        handled.push(message.Body ?? "");
        return message;
      },
    });
    const errors: Error[] = [];
    consumer.on("error", (error) => errors.push(error));
    consumer.start();
    for (let i = 0; i < 100 && handled.length < 5; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    consumer.stop({ abort: true });
    expect(errors).toEqual([]);
    expect(handled.sort()).toEqual(["0", "1", "2", "3", "4"]);
    const deadline = Date.now() + 10_000;
    let attributes: Record<string, string> = {};
    while (Date.now() < deadline) {
      attributes =
        (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }))).Attributes ??
        {};
      if (attributes.ApproximateNumberOfMessagesNotVisible === "0") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(attributes).toMatchObject({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "0",
    });
  });

  it("keeps every sent message across a kill -9, and gives back in flight ones when their time runs out", async () => {
    const { QueueUrl = "" } = await sqs.send(
      new CreateQueueCommand({ QueueName: fresh("crash"), Attributes: { VisibilityTimeout: "2" } }),
    );
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: `m${i}` })),
      ),
    );
    const held = await receiveAll(QueueUrl, 5, { MaxNumberOfMessages: 5 });
    await broker.kill();
    await start(stateDir);
    const url = QueueUrl.replace(/^http:\/\/[^/]+/, broker.url);
    const got = await receiveAll(url, 20);
    expect(new Set(got.map((m) => m.MessageId))).toEqual(new Set(sent.map((s) => s.MessageId)));
    expect(held.length).toBeGreaterThan(0);
  });

  it("runs the README's example as written", async () => {
    const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("\n## SQS"));
    const example = /```js\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    expect(example).toContain("@aws-sdk/client-sqs");
    // The README talks to `npm start` (auth off); this broker has auth on, so its secret is the key.
    const local = await startBroker();
    const file = path.join(ROOT, `.sqs-readme-${crypto.randomUUID().slice(0, 8)}.mjs`);
    try {
      await writeFile(file, example.replaceAll("http://127.0.0.1:8787", local.url));
      const { stdout } = await run(process.execPath, [file], { cwd: ROOT, timeout: 60_000 });
      expect(stdout.trim()).toBe('{"job":1}');
    } finally {
      await rm(file, { force: true });
      await local.stop();
      await removeState(local);
    }
  });
});
