import { Hono } from "hono";
import { readBodyLimited } from "../body";
import type { BrokerEnv } from "../env";
import { ProblemError } from "../errors";
import type { Operation, SqsCall } from "./call";
import { sqsPrincipal } from "./credentials";
import { fromBrokerError, SqsError, sqsErrorResponse } from "./errors";
import { MESSAGE_OPERATIONS } from "./messages";
import { QUEUE_OPERATIONS } from "./queues";
import { SETTLE_OPERATIONS } from "./settle";

/**
 * Largest request body: a batch holds at most 1 MiB of messages, and JSON may spell a character
 * of a body in up to six bytes (`\u0001`); this leaves room for both.
 */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const TARGET_PREFIX = "AmazonSQS.";

const OPERATIONS: Record<string, Operation> = {
  ...QUEUE_OPERATIONS,
  ...MESSAGE_OPERATIONS,
  ...SETTLE_OPERATIONS,
};

/** Operations of SQS that the broker knows and does not do, and why (docs/sqs.md). */
const UNSUPPORTED: Record<string, string> = {
  TagQueue: "queue tags are not supported",
  UntagQueue: "queue tags are not supported",
  ListQueueTags: "queue tags are not supported",
  AddPermission: "access is granted by tokens' capabilities, not queue policies",
  RemovePermission: "access is granted by tokens' capabilities, not queue policies",
  ListDeadLetterSourceQueues: "dead-letter sources are not indexed; read each queue's RedrivePolicy",
  StartMessageMoveTask:
    "move dead letters back with the subscription's redrive (POST …/subscriptions/sqs/redrive)",
  CancelMessageMoveTask: "message move tasks are not supported",
  ListMessageMoveTasks: "message move tasks are not supported",
};

/**
 * Amazon SQS over the AWS JSON 1.0 protocol (`POST` with `X-Amz-Target: AmazonSQS.<Operation>`),
 * mounted at `/sqs`: a queue is a topic with one subscription (DESIGN.md §10, docs/sqs.md). Every
 * answer, refusals included, is in SQS's shape, so `@aws-sdk/client-sqs` raises its own
 * exception classes.
 */
export const sqsRoutes = new Hono<BrokerEnv>();

sqsRoutes.all("*", async (c) => {
  try {
    return await answer(c.req.raw, c.env);
  } catch (error) {
    if (error instanceof SqsError) return sqsErrorResponse(error);
    if (error instanceof ProblemError) return sqsErrorResponse(fromBrokerError(error.code, error.detail));
    console.error(`SQS ${c.req.header("x-amz-target") ?? "?"} failed:`, error);
    return sqsErrorResponse(
      new SqsError("InternalFailure", "The request processing has failed because of an unknown error."),
    );
  }
});

async function answer(request: Request, env: Env): Promise<Response> {
  const target = request.headers.get("x-amz-target");
  if (request.method !== "POST" || target === null) {
    throw new SqsError(
      "InvalidAction",
      "this endpoint speaks SQS's AWS JSON 1.0 protocol: POST with X-Amz-Target: AmazonSQS.<Operation> (the Query protocol is not supported)",
    );
  }
  const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
  let body: Uint8Array;
  try {
    body = await readBodyLimited(request, MAX_REQUEST_BYTES);
  } catch {
    throw new SqsError("InvalidParameterValue", `a request body is at most ${MAX_REQUEST_BYTES} bytes`);
  }
  // Authenticated before the operation is looked at: a stranger learns nothing, not even which exist.
  const principal = await sqsPrincipal(env, request, body);
  const operation = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  if (operation === undefined) {
    const why = Object.hasOwn(UNSUPPORTED, name) ? UNSUPPORTED[name] : undefined;
    if (why !== undefined)
      throw new SqsError("UnsupportedOperation", `${name} is not supported by this broker: ${why}`);
    throw new SqsError(
      "UnknownOperationException",
      `unknown operation ${JSON.stringify(target.slice(0, 128))}`,
    );
  }
  const call: SqsCall = {
    env,
    principal,
    origin: new URL(request.url).origin,
    input: parseBody(body),
    request,
  };
  const result = await operation(call);
  return new Response(JSON.stringify(result), {
    headers: {
      "Content-Type": "application/x-amz-json-1.0",
      "x-amzn-RequestId": crypto.randomUUID(),
      "Cache-Control": "no-store",
    },
  });
}

function parseBody(body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
    value = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new SqsError("InvalidParameterValue", "the request body must be UTF-8 JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SqsError("InvalidParameterValue", "the request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
