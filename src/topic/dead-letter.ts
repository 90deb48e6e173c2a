import type { Result } from "../protocol/errors";
import type { Log, TopicMeta } from "./log";
import type { Sql } from "./sql";
import type { Subscriptions } from "./subscriptions";
import type { PublishInput, PublishReceipt } from "./types";

type PublishTo = (topic: string, messages: PublishInput[]) => Promise<Result<PublishReceipt[]>>;

const BATCH = 100;

/**
 * Copies messages that ran out of attempts to their subscription's
 * dead-letter topic. The copy carries an idempotency key made of this topic's
 * name, epoch, subscription and seq, and the pending row is deleted only after
 * the copy is acknowledged — so a crash or a retried alarm in between yields
 * the same single copy. Returns false when some copy failed and must be retried.
 */
export async function moveDeadLetters(
  sql: Sql,
  log: Log,
  subscriptions: Subscriptions,
  publishTo: PublishTo,
  transaction: (fn: () => void) => void,
): Promise<boolean> {
  const meta = log.meta as TopicMeta;
  const rows = sql.all<{ subscription: string; seq: number }>(
    "SELECT subscription, seq FROM dead_letters ORDER BY subscription, seq LIMIT ?",
    BATCH,
  );
  const bySubscription = Map.groupBy(rows, (row) => row.subscription);
  let allDone = true;
  for (const [name, group] of bySubscription) {
    const subscription = subscriptions.get(name);
    const target = subscription?.config.deadLetterTopic;
    const seqs = group.map((row) => row.seq);
    const messages = log.get(seqs);
    const present = seqs.filter((seq) => messages.has(seq));
    if (subscription && target && present.length) {
      const copies: PublishInput[] = present.map((seq) => {
        const row = messages.get(seq);
        if (!row) throw new Error("unreachable: filtered above");
        return {
          body: new Uint8Array(row.body),
          contentType: row.content_type,
          attributes: {
            ...(row.attributes ? JSON.parse(row.attributes) : {}),
            "dead-letter.topic": meta.name,
            "dead-letter.subscription": name,
            "dead-letter.seq": String(seq),
          },
          ...(row.key === null ? {} : { key: row.key }),
          idempotencyKey: `dead-letter/${meta.name}/${meta.epoch}/${name}/${seq}`,
        };
      });
      let result: Result<PublishReceipt[]>;
      try {
        result = await publishTo(target, copies);
      } catch (error) {
        console.error(`dead-letter copy to ${target} failed`, error);
        allDone = false;
        continue;
      }
      if (!result.ok) {
        console.error(`dead-letter copy to ${target} refused: ${result.code}: ${result.detail}`);
        allDone = false;
        continue;
      }
    }
    transaction(() => {
      sql.run(
        "DELETE FROM dead_letters WHERE subscription = ? AND seq IN (SELECT value FROM json_each(?))",
        name,
        JSON.stringify(seqs),
      );
      if (!subscription) return;
      if (target) subscription.counters.deadLettered += present.length;
      subscription.counters.discarded += seqs.length - (target ? present.length : 0);
      subscriptions.save(subscription);
    });
  }
  return allDone;
}
