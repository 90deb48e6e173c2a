import { offsetOf, type StreamAppendOutcome, type StreamCreateOutcome } from "../../protocol/streams";
import { ProblemError } from "../errors";
import { H } from "./headers";

/** The headers every answer about a stream's position carries. */
function positionHeaders(tail: number, closed: boolean): Record<string, string> {
  const headers: Record<string, string> = { [H.nextOffset]: offsetOf(tail) };
  if (closed) headers[H.closed] = "true";
  return headers;
}

/**
 * The protocol's answer to an append: 204 (200 when an idempotent producer's request stored
 * data), 204 for a producer's duplicate, 409 for a closed stream, a content type other than the
 * stream's, a `Stream-Seq` regression or a producer seq gap, 403 for a fenced producer epoch.
 * Refusals are problem+json with the protocol's headers.
 */
export function appendAnswer(outcome: StreamAppendOutcome): Response {
  switch (outcome.kind) {
    case "appended": {
      const headers = new Headers(positionHeaders(outcome.tail, outcome.closed));
      if (outcome.producer) {
        headers.set(H.producerEpoch, String(outcome.producer.epoch));
        headers.set(H.producerSeq, String(outcome.producer.seq));
      }
      const status = outcome.producer && outcome.seqs.length > 0 ? 200 : 204;
      return new Response(null, { status, headers });
    }
    case "duplicate": {
      const headers = new Headers(positionHeaders(outcome.tail, outcome.closed));
      headers.set(H.producerEpoch, String(outcome.producer.epoch));
      headers.set(H.producerSeq, String(outcome.producer.seq));
      return new Response(null, { status: 204, headers });
    }
    case "closed":
      throw new ProblemError("conflict", "the stream is closed: it takes no more appends", {
        headers: positionHeaders(outcome.tail, true),
      });
    case "stale-epoch":
      throw new ProblemError("forbidden", `a newer Producer-Epoch (${outcome.epoch}) fenced this producer`, {
        headers: { [H.producerEpoch]: String(outcome.epoch) },
      });
    case "epoch-start":
      throw new ProblemError("invalid_request", outcome.detail);
    case "seq-gap":
      throw new ProblemError(
        "conflict",
        `Producer-Seq ${outcome.received} skips ahead: the next one is ${outcome.expected}`,
        {
          headers: {
            [H.expectedSeq]: String(outcome.expected),
            [H.receivedSeq]: String(outcome.received),
          },
        },
      );
    case "stream-seq":
      throw new ProblemError(
        "conflict",
        `Stream-Seq must be above the last one (${JSON.stringify(outcome.last)}), compared byte by byte`,
      );
    case "content-type":
      throw new ProblemError("conflict", `the stream's content type is ${outcome.expected}`);
    case "refused":
      throw new ProblemError(outcome.code, outcome.detail);
  }
}

/** The answer to a create: 201 (with `Location`) or 200 for the same stream again; 409, 400 or 413. */
export function createAnswer(outcome: StreamCreateOutcome, location: string): Response {
  switch (outcome.kind) {
    case "ok": {
      const headers = new Headers(positionHeaders(outcome.tail, outcome.closed));
      headers.set("Content-Type", outcome.config.contentType);
      if (outcome.created) headers.set("Location", location);
      return new Response(null, { status: outcome.created ? 201 : 200, headers });
    }
    case "conflict":
      throw new ProblemError("conflict", outcome.detail);
    case "invalid":
      throw new ProblemError("invalid_request", outcome.detail);
    case "too-large":
      throw new ProblemError("payload_too_large", outcome.detail);
  }
}
