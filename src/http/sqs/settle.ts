import type { QueueReceipt, QueueSettleAction, QueueSettleOutcome } from "../../protocol/sqs-queue";
import { batchEntries } from "./batch";
import { callQueue, integer, need, type Operation, type SqsCall } from "./call";
import { SqsError } from "./errors";
import { queueFromUrl } from "./queue-url";
import { readReceipt } from "./receipt";

/** Settles receipts of one queue, grouped by the epoch they name (one call per epoch). */
async function settle(
  call: SqsCall,
  queue: string,
  receipts: (QueueReceipt & { epoch: string })[],
  action: QueueSettleAction,
): Promise<QueueSettleOutcome[]> {
  const outcomes: QueueSettleOutcome[] = [];
  for (const epoch of new Set(receipts.map((r) => r.epoch))) {
    const mine = receipts.map((r, i) => [r, i] as const).filter(([r]) => r.epoch === epoch);
    const input = { epoch, receipts: mine.map(([{ seq, attempt }]) => ({ seq, attempt })), action };
    const answer = await callQueue(call.env, queue, "settle", input);
    mine.forEach(([, i], j) => {
      outcomes[i] = answer[j] ?? "stale";
    });
  }
  return outcomes;
}

/** The SQS error for a receipt that settled nothing, or `null` for one that did. */
function refusal(outcome: QueueSettleOutcome, handle: string): SqsError | null {
  if (outcome === "stale") {
    return new SqsError(
      "ReceiptHandleIsInvalid",
      `The receipt handle "${handle.slice(0, 64)}" is not the newest of its message (it was received again since), or its queue was deleted and made again.`,
    );
  }
  if (outcome === "not-in-flight") return new SqsError("MessageNotInflight", "The message is not in flight.");
  return null;
}

function visibilityOf(input: Record<string, unknown>): QueueSettleAction {
  const seconds = integer(input, "VisibilityTimeout", 0, 43_200);
  if (seconds === undefined) {
    throw new SqsError("MissingParameter", "The request must contain the parameter VisibilityTimeout.");
  }
  return { kind: "visibility", ms: seconds * 1000 };
}

/** One receipt: `DeleteMessage` and `ChangeMessageVisibility`. */
function single(
  right: "subscribe",
  action: (input: Record<string, unknown>) => QueueSettleAction,
): Operation {
  return async (call) => {
    const queue = queueFromUrl(call.input.QueueUrl);
    need(call, right, queue);
    const receipt = readReceipt(call.input.ReceiptHandle);
    const [outcome] = await settle(call, queue, [receipt], action(call.input));
    const refused = refusal(outcome ?? "stale", call.input.ReceiptHandle as string);
    if (refused) throw refused;
    return {};
  };
}

/** A batch of receipts: each entry succeeds or fails on its own. */
function batch(action: (input: Record<string, unknown>) => QueueSettleAction): Operation {
  return async (call) => {
    const queue = queueFromUrl(call.input.QueueUrl);
    need(call, "subscribe", queue);
    const entries = batchEntries(call.input.Entries);
    const failed: Record<string, unknown>[] = [];
    const valid: {
      id: string;
      handle: string;
      receipt: QueueReceipt & { epoch: string };
      action: QueueSettleAction;
    }[] = [];
    for (const entry of entries) {
      try {
        const receipt = readReceipt(entry.ReceiptHandle);
        valid.push({
          id: entry.Id as string,
          handle: entry.ReceiptHandle as string,
          receipt,
          action: action(entry),
        });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        failed.push({ Id: entry.Id, SenderFault: true, Code: error.type, Message: error.message });
      }
    }
    const successful: Record<string, unknown>[] = [];
    // Entries with the same action go together: a batch of visibility changes names one each.
    const groups = new Map<string, typeof valid>();
    for (const v of valid)
      groups.set(JSON.stringify(v.action), [...(groups.get(JSON.stringify(v.action)) ?? []), v]);
    for (const group of groups.values()) {
      const outcomes = await settle(
        call,
        queue,
        group.map((v) => v.receipt),
        group[0]?.action ?? { kind: "delete" },
      );
      group.forEach((v, i) => {
        const refused = refusal(outcomes[i] ?? "stale", v.handle);
        if (refused)
          failed.push({ Id: v.id, SenderFault: true, Code: refused.type, Message: refused.message });
        else successful.push({ Id: v.id });
      });
    }
    return { Successful: successful, Failed: failed };
  };
}

const remove = (): QueueSettleAction => ({ kind: "delete" });

/** The operations on received messages, by their `X-Amz-Target` name. */
export const SETTLE_OPERATIONS: Record<string, Operation> = {
  DeleteMessage: single("subscribe", remove),
  DeleteMessageBatch: batch(remove),
  ChangeMessageVisibility: single("subscribe", visibilityOf),
  ChangeMessageVisibilityBatch: batch(visibilityOf),
};
