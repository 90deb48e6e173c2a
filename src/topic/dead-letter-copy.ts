import { BROKER_ATTRIBUTES, hopsOf, MAX_HOPS } from "../protocol/attributes";
import type { Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import { logLine } from "../protocol/log";
import type { PublishInput, PublishReceipt } from "../protocol/topic-rpc";
import type { TopicMeta } from "./log";
import { fitting } from "./message-rows";
import type { TopicStore } from "./store";

/** Publishes a batch to another topic (through its object). */
export type PublishTo = (topic: string, messages: PublishInput[]) => Promise<Result<PublishReceipt[]>>;

/** Most copies sent to a dead-letter topic in one request. */
const BATCH = 100;

/**
 * Copies messages that ran out of attempts to their subscription's dead-letter topic, a batch
 * per subscription, each subscription on its own: one whose dead-letter topic refuses does not
 * hold back another's. A copy carries an idempotency key made of this topic's name, epoch,
 * subscription and seq, and its waiting row is deleted only after the copy is acknowledged, so a
 * crash or a retried alarm in between yields the same single copy. A copy carries `broker.hops`,
 * one more than the message it copies, and a message already `MAX_HOPS` copies deep is not
 * copied again: two topics dead-lettering into each other bounce a message a few times, not
 * forever. A row whose message is gone (retention), whose subscription no longer has a
 * dead-letter topic, or that is too deep is dropped and counted as `discarded`. Returns false
 * when some copy failed and must be retried.
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
    // A message gone (retention), without a dead-letter topic any more, or copied too many times
    // over already (a loop between topics) is dropped instead, and counted as discarded.
    const copies = new Map<number, PublishInput>();
    for (const seq of target === null ? [] : seqs) {
      const row = messages.get(seq);
      if (!row) continue;
      const attributes: Record<string, string> = row.attributes ? JSON.parse(row.attributes) : {};
      const hops = hopsOf(attributes) + 1;
      if (hops > MAX_HOPS) {
        logLine("error", "dead letter too many copies deep; not copied again", {
          topic: meta.name,
          subscription: name,
          seq,
          hops,
        });
        continue;
      }
      copies.set(seq, {
        body: new Uint8Array(row.body),
        contentType: row.content_type,
        attributes: {
          ...attributes,
          [BROKER_ATTRIBUTES.deadLetterTopic]: meta.name,
          [BROKER_ATTRIBUTES.deadLetterSubscription]: name,
          [BROKER_ATTRIBUTES.deadLetterSeq]: String(seq),
          [BROKER_ATTRIBUTES.deadLetterEpoch]: meta.epoch,
          [BROKER_ATTRIBUTES.hops]: String(hops),
        },
        ...(row.key === null ? {} : { key: row.key }),
        idempotencyKey: `dead-letter/${meta.name}/${meta.epoch}/${name}/${seq}`,
      });
    }
    if (copies.size) {
      const copied = await send(publishTo, target as string, [...copies.values()]);
      if (!copied) {
        allDone = false;
        continue;
      }
    }
    store.transaction(() => {
      deadLetters.remove(name, seqs);
      if (!subscription) return;
      const dropped = seqs.length - copies.size;
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
    logLine("error", "dead-letter copy refused", { target, code: result.code, detail: result.detail });
  } catch (error) {
    logLine("error", "dead-letter copy failed", { target }, error);
  }
  return false;
}
