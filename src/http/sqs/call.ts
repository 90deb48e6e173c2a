import { can, type Principal, type Right } from "../../auth/capabilities";
import type { Result } from "../../protocol/errors";
import type { QueueCalls, QueueOp } from "../../protocol/sqs-queue";
import { callTopic } from "../topic-call";
import { SqsError, sqsUnwrap } from "./errors";

/** One SQS request, authenticated and parsed: what every operation is handed. */
export interface SqsCall {
  env: Env;
  principal: Principal;
  /** The broker's origin as the client addressed it: queue URLs are built on it. */
  origin: string;
  /** The request's JSON body (an object). */
  input: Record<string, unknown>;
  request: Request;
}

/** An SQS operation: its answer, or an `SqsError` thrown. */
export type Operation = (call: SqsCall) => Promise<Record<string, unknown>>;

/**
 * Refuses with `AccessDenied` unless the caller holds `right` on the queue's topic (any of them,
 * when given several).
 *
 * @example
 * need(call, "subscribe", queue);
 */
export function need(call: SqsCall, right: Right | Right[], queue: string): void {
  const rights = Array.isArray(right) ? right : [right];
  if (rights.some((r) => can(call.principal, r, queue))) return;
  throw new SqsError("AccessDenied", `this credential lacks "${rights.join('" or "')}" on queue "${queue}"`);
}

/**
 * One operation of a queue's topic object (the topic's `sqs` RPC method), its failure thrown as
 * an SQS error. Only calls that are harmless twice are repeated after a retryable failure.
 *
 * @example
 * const info = await callQueue(call.env, "orders", "info", null);
 */
export async function callQueue<K extends QueueOp>(
  env: Env,
  queue: string,
  op: K,
  input: QueueCalls[K]["input"],
): Promise<QueueCalls[K]["output"]> {
  const idempotent = op === "info" || op === "put" || op === "settle";
  const result = await callTopic(env, queue, (t) => t.sqs(op, input), { idempotent });
  return sqsUnwrap(result as Result<QueueCalls[K]["output"]>);
}

/** A field that must be a string, or `MissingParameter`. */
export function required(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (value === undefined || value === null || value === "") {
    throw new SqsError("MissingParameter", `The request must contain the parameter ${name}.`);
  }
  if (typeof value !== "string") throw new SqsError("InvalidParameterValue", `${name} must be a string.`);
  return value;
}

/** An optional integer field within bounds, or `InvalidParameterValue`. */
export function integer(
  input: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new SqsError(
      "InvalidParameterValue",
      `Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: must be an integer from ${min} to ${max}.`,
    );
  }
  return value;
}
