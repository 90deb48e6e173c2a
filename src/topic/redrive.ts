import { BROKER_ATTRIBUTES } from "../protocol/attributes";
import { fail, ok, type Result } from "../protocol/errors";
import type { DeadLetterPage, RedriveResult } from "../protocol/topic-rpc";
import type { Changes } from "./changes";
import { noSubscription, noTopic } from "./failures";
import type { TopicMeta } from "./log";
import type { TopicStore } from "./store";

/** Most dead-letter log rows one page scans, and pages one redrive call reads. */
export const REDRIVE_PAGE = 1_000;
const PAGES_PER_CALL = 10;

/** Which original messages a dead-letter copy stands for. */
export interface DeadLetterSource {
  topic: string;
  subscription: string;
  epoch: string;
}

/** Reads a page of another topic's dead-letter log for one source subscription (through its object). */
export type ReadDeadLetters = (
  topic: string,
  source: DeadLetterSource,
  after: number,
) => Promise<Result<DeadLetterPage>>;

/**
 * The copies in this topic's log that are dead letters of `source`, after `after`: their
 * original seqs, found by the attributes the broker set on each copy (no publisher can). A copy
 * made in another epoch of the source topic is not its (the seqs would name other messages).
 */
export function deadLettersOf(
  store: TopicStore,
  source: DeadLetterSource,
  after: number,
): Result<DeadLetterPage> {
  const meta = store.meta;
  if (!meta) return noTopic();
  const heads = store.log.heads(after, REDRIVE_PAGE);
  const seqs: number[] = [];
  for (const head of heads) {
    const attributes: Record<string, string> = head.attributes ? JSON.parse(head.attributes) : {};
    if (attributes[BROKER_ATTRIBUTES.deadLetterTopic] !== source.topic) continue;
    if (attributes[BROKER_ATTRIBUTES.deadLetterSubscription] !== source.subscription) continue;
    const epoch = attributes[BROKER_ATTRIBUTES.deadLetterEpoch];
    if (epoch !== undefined && epoch !== source.epoch) continue;
    const seq = Number(attributes[BROKER_ATTRIBUTES.deadLetterSeq]);
    if (Number.isSafeInteger(seq) && seq > 0) seqs.push(seq);
  }
  const next = heads.at(-1)?.seq ?? Math.max(after, store.log.counters.nextSeq - 1);
  return ok({ seqs, next, more: next < store.log.counters.nextSeq - 1, epoch: meta.epoch });
}

/**
 * Redrive (DESIGN.md §3): a subscription's dead letters go back to it, and to no other
 * subscription, each once. The dead-letter topic is a log that other readers may share, so
 * nothing is deleted from it: the subscription keeps a position in it (./redrive-positions.ts)
 * that moves past each copy in the transaction that gives the original message back — the
 * copies are consumed by that position. A message comes back as its original seq, available now
 * with its attempts counted afresh; one whose original is gone from this log (retention) cannot
 * come back to this subscription alone and is skipped. Bounded per call: `more` says to call again.
 */
export async function redrive(
  store: TopicStore,
  changes: Changes,
  name: string,
  read: ReadDeadLetters,
): Promise<Result<RedriveResult>> {
  const subscription = store.subscriptions.get(name);
  if (!subscription) return noSubscription(name);
  const target = subscription.config.deadLetterTopic;
  if (target === null)
    return fail("conflict", `subscription ${name} has no deadLetterTopic: it has nothing to redrive`);
  const meta = store.meta as TopicMeta;
  const source = { topic: meta.name, subscription: name, epoch: meta.epoch };
  const result: RedriveResult = { redriven: 0, skipped: 0, more: false };
  for (let page = 0; page < PAGES_PER_CALL; page++) {
    const known = store.redrives.get(name);
    const position = known?.deadLetterTopic === target ? known : null;
    const read0 = await read(target, source, position?.after ?? 0);
    if (!read0.ok) {
      if (read0.code === "not_found") return ok(result); // no dead-letter topic yet: nothing was dead-lettered
      return read0;
    }
    // The dead-letter topic was deleted and re-created: its log starts again.
    const fresh = position !== null && position.epoch !== read0.value.epoch;
    const found = fresh ? await read(target, source, 0) : read0;
    if (!found.ok) return found;
    const current = store.subscriptions.get(name);
    if (!current || current.config.deadLetterTopic !== target) return ok(result);
    const { seqs, next, more, epoch } = found.value;
    changes.apply(() => {
      const given = store.delivery.redeliver(current, seqs);
      current.counters.redriven += given.length;
      store.subscriptions.save(current);
      store.redrives.set(name, { deadLetterTopic: target, epoch, after: next });
      result.redriven += given.length;
      result.skipped += seqs.length - given.length;
    });
    result.more = more;
    if (!more) break;
  }
  return ok(result);
}
