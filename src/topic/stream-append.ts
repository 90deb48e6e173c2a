import type { StreamAppendInput, StreamAppendOutcome, StreamPosition } from "../protocol/streams";
import { mediaType } from "../protocol/streams";
import type { PublishInput } from "../protocol/topic-rpc";
import type { TopicStore } from "./store";
import type { StreamState } from "./stream-state";

/** The stream's tail and whether it is closed. */
export function positionOf(store: TopicStore): StreamPosition {
  return { tail: store.log.counters.nextSeq - 1, closed: store.stream.current.closed };
}

/**
 * Appends `messages` to the log (the caller's transaction), keeping retention, counters and
 * the filtered subscriptions' counts as a publish does. Answers the seqs and ids stored, or the
 * topic's refusal.
 */
export function appendMessages(
  store: TopicStore,
  messages: PublishInput[],
  now: number,
): { seqs: number[]; ids: string[] } | { code: "topic_full"; detail: string } {
  if (messages.length === 0) return { seqs: [], ids: [] };
  const { log, delivery } = store;
  const result = log.append(messages, now, delivery.protectedFrom(), () => crypto.randomUUID());
  if (!result.ok) return { code: "topic_full", detail: result.detail };
  log.saveCounters();
  delivery.backlog.appended(messages);
  return { seqs: result.value.map((r) => r.seq), ids: result.value.map((r) => r.id) };
}

/**
 * One append of a stream, inside the caller's transaction: the checks the protocol orders
 * (content type, producer, closed, `Stream-Seq`), then the messages, the producer's new
 * position, the `Stream-Seq`, the close and the renewed TTL, all or nothing.
 *
 * A producer's duplicate is recognised before the stream's closed state, so the retry of a
 * request that closed the stream is answered as the duplicate it is.
 */
export function appendToStream(
  store: TopicStore,
  input: StreamAppendInput,
  now: number,
): StreamAppendOutcome {
  const state = store.stream.current;
  const closeOnly = input.messages.length === 0;
  if (!closeOnly && input.contentType !== null) {
    if (mediaType(input.contentType) !== mediaType(state.config.contentType)) {
      return { kind: "content-type", expected: state.config.contentType };
    }
  }
  const stamp = input.producer;
  if (stamp) {
    const check = store.producers.check(stamp);
    switch (check.kind) {
      case "stale-epoch":
        return { kind: "stale-epoch", epoch: check.epoch };
      case "epoch-start":
        return { kind: "epoch-start", detail: "a new Producer-Epoch must start at Producer-Seq 0" };
      case "seq-gap":
        return { kind: "seq-gap", expected: check.expected, received: stamp.seq };
      case "duplicate":
        return {
          kind: "duplicate",
          producer: { ...stamp, seq: check.highest },
          lastSeq: store.producers.lastSeq(stamp.id) ?? 0,
          ...positionOf(store),
        };
      case "new":
        break;
    }
  }
  if (state.closed) {
    // Closing a closed stream again changes nothing and is answered as done.
    if (closeOnly && input.close) return { kind: "appended", seqs: [], ids: [], ...positionOf(store) };
    return { kind: "closed", ...positionOf(store) };
  }
  if (input.streamSeq !== undefined && state.streamSeq !== null && input.streamSeq <= state.streamSeq) {
    return { kind: "stream-seq", last: state.streamSeq };
  }
  const stored = appendMessages(store, input.messages, now);
  if ("code" in stored) return { kind: "refused", code: stored.code, detail: stored.detail };
  const tail = store.log.counters.nextSeq - 1;
  if (stamp) store.producers.accept(stamp, tail, now);
  const next: StreamState = {
    ...state,
    streamSeq: input.streamSeq ?? state.streamSeq,
    closed: state.closed || input.close,
    closedBy: input.close && stamp ? { id: stamp.id, epoch: stamp.epoch, seq: stamp.seq } : state.closedBy,
    touchedAt: now,
  };
  // One row more per append only when something of the stream changed, or its TTL slides.
  const changed = input.close || input.streamSeq !== undefined || state.config.ttlSeconds !== null;
  if (changed) store.stream.save(next);
  const outcome: StreamAppendOutcome = { kind: "appended", ...stored, tail, closed: next.closed };
  if (stamp) outcome.producer = stamp;
  return outcome;
}
