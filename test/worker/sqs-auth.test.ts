import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { ADMIN_KEY, hs256, nowS, SECRET } from "./auth-fixtures";
import { freshTopic, topicStub } from "./helpers";
import { ok, refused } from "./sqs-support";

const ACCESS_KEY = "ci-key";
const ACCESS_SECRET = "ci-secret-0123456789";
/** The real app with auth required, on the real Durable Object bindings of this test run. */
const secured = {
  ...env,
  AUTH: "required",
  JWT_SECRET: SECRET,
  ADMIN_KEY,
  SQS_ACCESS_KEYS: `${ACCESS_KEY}:${ACCESS_SECRET}`,
} as Env;

const view = (data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof data === "string"
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** SHA-256 as the signer wants it (the AWS SDK's own choice on Node.js is node:crypto too). */
class Sha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash("sha256") : createHmac("sha256", view(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(view(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {}
}

/** A request signed by the AWS signer (not by the broker's code), as @aws-sdk/client-sqs signs it. */
async function signed(
  operation: string,
  input: unknown,
  credentials: { accessKeyId: string; secretAccessKey: string },
  signingDate = new Date(),
): Promise<Request> {
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: "sqs", sha256: Sha256 });
  const body = JSON.stringify(input);
  const request = await signer.sign(
    {
      method: "POST",
      protocol: "http:",
      hostname: "broker",
      path: "/sqs/",
      headers: {
        host: "broker",
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `AmazonSQS.${operation}`,
      },
      body,
    },
    { signingDate },
  );
  return new Request("http://broker/sqs/", { method: "POST", headers: request.headers, body });
}

const send = (request: Request) => Promise.resolve(app.fetch(request, secured, createExecutionContext()));

const admin = { accessKeyId: "anything", secretAccessKey: ADMIN_KEY };

describe("SQS auth", () => {
  it("takes a SigV4 signature made with the admin key, whatever the access key id", async () => {
    const name = freshTopic("q");
    const { QueueUrl } = await ok<{ QueueUrl: string }>(
      send(await signed("CreateQueue", { QueueName: name }, admin)),
    );
    expect(QueueUrl).toBe(`http://broker/sqs/000000000000/${name}`);
  });

  it("takes an access key of SQS_ACCESS_KEYS with its own secret", async () => {
    const key = { accessKeyId: ACCESS_KEY, secretAccessKey: ACCESS_SECRET };
    await ok(send(await signed("ListQueues", {}, key)));
    const wrong = { accessKeyId: ACCESS_KEY, secretAccessKey: ADMIN_KEY };
    await refused(send(await signed("ListQueues", {}, wrong)), "SignatureDoesNotMatch", 403);
  });

  it("refuses a wrong secret, a changed body and an old signature, before any topic is touched", async () => {
    const name = freshTopic("q");
    const wrong = { accessKeyId: "x", secretAccessKey: "not-the-admin-key" };
    await refused(
      send(await signed("CreateQueue", { QueueName: name }, wrong)),
      "SignatureDoesNotMatch",
      403,
    );
    const original = await signed("CreateQueue", { QueueName: name }, admin);
    const tampered = new Request(original, { body: JSON.stringify({ QueueName: `${name}-other` }) });
    await refused(send(tampered), "SignatureDoesNotMatch", 403);
    const old = await signed("CreateQueue", { QueueName: name }, admin, new Date(Date.now() - 20 * 60_000));
    await refused(send(old), "RequestExpired", 400);
    expect((await topicStub(name).info()).ok).toBe(false);
  });

  it("refuses a request without credentials, and one with a broken Authorization header", async () => {
    const request = (authorization?: string) =>
      new Request("http://broker/sqs/", {
        method: "POST",
        headers: {
          "x-amz-target": "AmazonSQS.ListQueues",
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: "{}",
      });
    await refused(send(request()), "MissingAuthenticationToken", 403);
    await refused(send(request("AWS4-HMAC-SHA256 Credential=nonsense")), "IncompleteSignature", 400);
    await refused(send(request("Bearer not-a-token")), "InvalidClientTokenId", 403);
    await ok(send(request(`Bearer ${ADMIN_KEY}`)));
  });

  it("takes a token as access key id and secret, with the token's rights per operation", async () => {
    const name = freshTopic("q");
    await ok(send(await signed("CreateQueue", { QueueName: name }, admin)));
    const QueueUrl = `http://broker/sqs/000000000000/${name}`;
    const token = await hs256({ cap: { [name]: ["publish"] }, exp: nowS() + 600 });
    const asToken = { accessKeyId: token, secretAccessKey: token };
    await ok(send(await signed("SendMessage", { QueueUrl, MessageBody: "hi" }, asToken)));
    await ok(send(await signed("GetQueueUrl", { QueueName: name }, asToken)));
    await refused(send(await signed("ReceiveMessage", { QueueUrl }, asToken)), "AccessDenied", 403);
    await refused(send(await signed("DeleteQueue", { QueueUrl }, asToken)), "AccessDenied", 403);
    await refused(
      send(await signed("CreateQueue", { QueueName: `${name}-2` }, asToken)),
      "AccessDenied",
      403,
    );
    const otherSecret = { accessKeyId: token, secretAccessKey: ADMIN_KEY };
    await refused(
      send(await signed("SendMessage", { QueueUrl, MessageBody: "hi" }, otherSecret)),
      "SignatureDoesNotMatch",
      403,
    );
    expect((await topicStub(`${name}-2`).info()).ok).toBe(false);
  });

  it("names a dead-letter queue only with publish on it", async () => {
    const name = freshTopic("q");
    await ok(send(await signed("CreateQueue", { QueueName: `${name}-dlq` }, admin)));
    const token = await hs256({ cap: { [name]: ["admin"] }, exp: nowS() + 600 });
    const policy = JSON.stringify({
      deadLetterTargetArn: `arn:aws:sqs:edge:000000000000:${name}-dlq`,
      maxReceiveCount: 2,
    });
    const input = { QueueName: name, Attributes: { RedrivePolicy: policy } };
    await refused(
      send(await signed("CreateQueue", input, { accessKeyId: token, secretAccessKey: token })),
      "AccessDenied",
      403,
    );
    expect((await topicStub(name).info()).ok).toBe(false);
  });
});
