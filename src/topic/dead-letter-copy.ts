import type { Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import type { PublishInput, PublishReceipt } from "../protocol/topic-rpc";
import type { TopicMeta } from "./log";
import { fitting } from "./message-rows";
import type { TopicStore } from "./store";

/** Publishes a batch to another topic (through its object). */
export type PublishTo = (topic: string, messages: PublishInput[]) => Promise<Result<PublishReceipt[]>>;

/** Most copies sent to a dead-letter topic in one request. */
const BATCH = 100;

/** The broker's own attributes on a dead-letter copy: where the message came from. */
export const DEAD_LETTER_ATTRIBUTES = {
  topic: "dead-letter.topic",
  subscription: "dead-letter.subscription",
  seq: "dead-letter.seq",
} as const;

/**
 * Copies messages that ran out of attempts to their subscription's dead-letter topic, a batch
 * per subscription, each subscription on its own: one whose dead-letter topic refuses does not
 * hold back another's. A copy carries an idempotency key made of this topic's name, epoch,
 * subscription and seq, and its waiting row is deleted only after the copy is acknowledged, so a
 * crash or a retried alarm in between yields the same single copy. A row whose message is gone
 * (retention) or whose subscription no longer has a dead-letter topic is dropped and counted as
 * `discarded`. Returns false when some copy failed and must be retried.
 */
export async function copyDeadLetters(store: TopicStore, publishTo: PublishTo): Promise<boolean> {
  const { log, subscriptions, delivery } = store;
  const meta = log.meta as TopicMeta;
  const deadLetters = delivery.deadLetters;
  let allDone = true;
  for (const name of deadLetters.subscriptions()) {
    const subscription = subscriptions.get(name);
    const target = subscription?.config.deadLetterTopic ?? null;
    // A batch is bounded in bytes as well as count (at least one message), like every answer.
    const waiting = deadLetters.seqs(name, BATCH);
    const sizes = log.sizes(waiting);
    const seqs = waiting.slice(
      0,
      fitting(
        waiting.map((seq) => ({ size: sizes.get(seq)?.size ?? 0 })),
        LIMITS.pageBytes,
      ),
    );
    const messages = log.get(seqs);
    const present = target === null ? [] : seqs.filter((seq) => messages.has(seq));
    if (present.length) {
      const copies: PublishInput[] = present.map((seq) => {
        const row = messages.get(seq);
        if (!row) throw new Error("unreachable: filtered above");
        return {
          body: new Uint8Array(row.body),
          contentType: row.content_type,
          attributes: {
            ...(row.attributes ? JSON.parse(row.attributes) : {}),
            [DEAD_LETTER_ATTRIBUTES.topic]: meta.name,
            [DEAD_LETTER_ATTRIBUTES.subscription]: name,
            [DEAD_LETTER_ATTRIBUTES.seq]: String(seq),
          },
          ...(row.key === null ? {} : { key: row.key }),
          idempotencyKey: `dead-letter/${meta.name}/${meta.epoch}/${name}/${seq}`,
        };
      });
      const copied = await send(publishTo, target as string, copies);
      if (!copied) {
        allDone = false;
        continue;
      }
    }
    store.transaction(() => {
      deadLetters.remove(name, seqs);
      if (!subscription) return;
      const dropped = seqs.length - present.length;
      subscription.counters.deadLettered -= dropped;
      subscription.counters.discarded += dropped;
      if (dropped) subscriptions.save(subscription);
    });
  }
  return allDone;
}

async function send(publishTo: PublishTo, target: string, copies: PublishInput[]): Promise<boolean> {
  try {
    const result = await publishTo(target, copies);
    if (result.ok) return true;
    console.error(`dead-letter copy to ${target} refused: ${result.code}: ${result.detail}`);
  } catch (error) {
    console.error(`dead-letter copy to ${target} failed`, error);
  }
  return false;
}
