import type { Context } from "hono";
import type { ProducerStamp, StreamAppendOutcome } from "../protocol/streams";
import type { PublishInput } from "../protocol/topic-rpc";
import { appendAnswer } from "./ds/answers";
import type { BrokerEnv } from "./env";
import { unwrap } from "./errors";
import { callTopic } from "./topic-call";

/**
 * A native publish (`POST /v1/topics/{topic}/messages` with `Producer-Id`, `Producer-Epoch`,
 * `Producer-Seq`, or a batch with `producer`) from an idempotent producer: the same check as a
 * Durable Streams append, in the transaction that stores the messages. Answers `201` with the
 * receipts and the producer's position; a duplicate `201` with `duplicate: true`, nothing stored,
 * and `seq`, the last seq the producer's last accepted request stored; a fenced epoch `403`
 * (`Producer-Epoch` says the current one); a gap `409` (`Producer-Expected-Seq`); a new epoch
 * that does not start at seq 0 `400`.
 *
 * @example
 * return publishAsProducer(c, topic, [input], stamp, (receipts, producer) => ({ ...receipts[0], producer }));
 */
export async function publishAsProducer(
  c: Context<BrokerEnv>,
  topic: string,
  messages: PublishInput[],
  producer: ProducerStamp,
  shape: (receipts: { seq: number; id: string; duplicate: false }[], producer: ProducerStamp) => unknown,
): Promise<Response> {
  const outcome: StreamAppendOutcome = unwrap(
    await callTopic(
      c.env,
      topic,
      (t) => t.streamAppend({ contentType: null, messages, close: false, producer, createTopic: true }),
      { idempotent: true },
    ),
  );
  if (outcome.kind === "appended") {
    const receipts = outcome.seqs.map((seq, i) => ({
      seq,
      id: outcome.ids[i] ?? "",
      duplicate: false as const,
    }));
    return c.json(shape(receipts, producer), 201);
  }
  if (outcome.kind === "duplicate") {
    return c.json({ seq: outcome.lastSeq, duplicate: true, producer: outcome.producer }, 201);
  }
  // Every refusal is the protocol's, with its headers (403, 409, 400 …).
  return appendAnswer(outcome);
}
