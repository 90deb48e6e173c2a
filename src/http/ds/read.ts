import type { Context } from "hono";
import { isJsonStream, offsetOf, type StreamPage } from "../../protocol/streams";
import type { BrokerEnv } from "../env";
import { H, nextCursor } from "./headers";

/**
 * How a catch-up read that can never change is cached: a range before the tail, or the last
 * range of a closed stream. `private` behind auth (the answer depends on the credential),
 * `public` on a broker without it. Everything else (the tail, `offset=now`, long-polls that
 * found nothing, HEAD) is `no-store`.
 */
function cacheControl(c: Context<BrokerEnv>, immutable: boolean): string {
  if (!immutable) return "no-store";
  const scope = c.env.AUTH === "off" ? "public" : "private";
  return `${scope}, max-age=60, stale-while-revalidate=300`;
}

/** A page's messages as the stream's bytes: a JSON array for JSON streams, the bytes in order for the rest. */
export function pageBody(page: StreamPage): Uint8Array<ArrayBuffer> {
  const json = isJsonStream(page.contentType);
  const parts: Uint8Array[] = page.messages.map((m) => m.body);
  const comma = new Uint8Array([0x2c]);
  const pieces = json
    ? [
        new Uint8Array([0x5b]),
        ...parts.flatMap((p, i) => (i === 0 ? [p] : [comma, p])),
        new Uint8Array([0x5d]),
      ]
    : parts;
  const total = pieces.reduce((sum, p) => sum + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.byteLength;
  }
  return out;
}

export interface ReadAnswer {
  /** Read from `offset=now`: never cached, no ETag. */
  fromNow: boolean;
  /** A long-poll: 204 when it found nothing, and a cursor always. */
  longPoll: boolean;
  /** The `cursor` query parameter the client echoed. */
  cursor: string | undefined;
}

/**
 * The answer to a catch-up read or a long-poll: the bytes, `Stream-Next-Offset`,
 * `Stream-Up-To-Date` when the page reaches the tail, `Stream-Closed` when it reaches the end of
 * a closed stream, an ETag of the range (a matching `If-None-Match` gets 304) and a cursor for
 * live reads.
 */
export function readAnswer(
  c: Context<BrokerEnv>,
  after: number,
  page: StreamPage,
  how: ReadAnswer,
): Response {
  const upToDate = page.next === page.tail;
  const ended = upToDate && page.closed;
  const headers = new Headers({
    "Content-Type": page.contentType,
    [H.nextOffset]: offsetOf(page.next),
  });
  if (upToDate) headers.set(H.upToDate, "true");
  if (ended) headers.set(H.closed, "true");
  if (how.longPoll) headers.set(H.cursor, nextCursor(how.cursor));

  if (how.longPoll && page.messages.length === 0) {
    headers.set("Cache-Control", "no-store");
    headers.delete("Content-Type");
    return new Response(null, { status: 204, headers });
  }
  headers.set("Cache-Control", how.fromNow ? "no-store" : cacheControl(c, !upToDate || ended));
  if (!how.fromNow) {
    const etag = `"${page.epoch}:${offsetOf(after)}:${offsetOf(page.next)}${ended ? ":closed" : ""}"`;
    headers.set("ETag", etag);
    if (c.req.header("if-none-match") === etag) return new Response(null, { status: 304, headers });
  }
  return new Response(pageBody(page), { status: 200, headers });
}
