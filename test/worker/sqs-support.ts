import { exports } from "cloudflare:workers";
import { expect } from "vitest";

/** The origin the worker sees in these tests: queue URLs are built on it. */
export const ORIGIN = "http://broker";

/** One SQS request over the AWS JSON 1.0 protocol, as the SDK sends it (auth is off here). */
export function sqs(
  operation: string,
  input: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return exports.default.fetch(
    new Request(`${ORIGIN}/sqs/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `AmazonSQS.${operation}`,
        ...headers,
      },
      body: typeof input === "string" ? input : JSON.stringify(input),
    }),
  );
}

/** Asserts a successful SQS answer and returns its body. */
export async function ok<T = Record<string, unknown>>(res: Response | Promise<Response>): Promise<T> {
  const answer = await res;
  const text = await answer.text();
  expect({ status: answer.status, text }).toMatchObject({ status: 200 });
  expect(answer.headers.get("content-type")).toBe("application/x-amz-json-1.0");
  return JSON.parse(text) as T;
}

/**
 * Asserts an SQS error: the status, the `__type` the SDK reads the exception class from, and the
 * `x-amzn-query-error` code it reads in query-compatible mode. Returns the message.
 */
export async function refused(
  res: Response | Promise<Response>,
  type: string,
  status: number,
  queryCode: string = type,
): Promise<string> {
  const answer = await res;
  const body = (await answer.json()) as { __type: string; message: string };
  expect({ status: answer.status, body }).toMatchObject({
    status,
    body: { __type: `com.amazonaws.sqs#${type}` },
  });
  expect(answer.headers.get("x-amzn-query-error")).toBe(
    `${queryCode};${status >= 500 ? "Receiver" : "Sender"}`,
  );
  expect(body.message).toEqual(expect.any(String));
  return body.message;
}

/** Creates a queue and returns its URL. */
export async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await ok<{ QueueUrl: string }>(
    sqs("CreateQueue", { QueueName: name, Attributes: attributes }),
  );
  return QueueUrl;
}

export interface Received {
  MessageId: string;
  ReceiptHandle: string;
  MD5OfBody: string;
  Body: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
  MD5OfMessageAttributes?: string;
}

/** Receives up to `max` messages without waiting. */
export async function receive(queueUrl: string, extra: Record<string, unknown> = {}): Promise<Received[]> {
  const answer = await ok<{ Messages?: Received[] }>(
    sqs("ReceiveMessage", { QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, ...extra }),
  );
  return answer.Messages ?? [];
}
