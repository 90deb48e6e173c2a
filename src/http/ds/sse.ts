import type { Result } from "../../protocol/errors";
import { isJsonStream, isTextStream, offsetOf, type StreamPage } from "../../protocol/streams";
import { nextCursor } from "./headers";
import { pageBody } from "./read";

/** How long one long-poll of the stream waits; an idle stream sends a comment this often. */
const KEEP_ALIVE_MS = 15_000;
/** The protocol asks servers to end SSE responses about every 60 s (clients resume by offset). */
const MAX_STREAM_MS = 60_000;

type Read = (after: number, wait: number) => Promise<Result<StreamPage>>;

export interface StreamSseOptions {
  /** The first page, read before the response starts (so a missing stream is a plain 404). */
  first: StreamPage;
  cursor: string | undefined;
  signal: AbortSignal;
  /** When the credential stops being accepted, epoch ms, or `null`. */
  until: number | null;
}

const utf8 = new TextDecoder("utf-8");

/**
 * A page as one `data` event: JSON streams as a JSON array, text streams as their text, other
 * streams as base64. Every line of the payload gets its own `data:` prefix, so a CR or LF in a
 * message can never end the event or start another.
 */
function dataEvent(page: StreamPage): string {
  const bytes = pageBody(page);
  let payload: string;
  if (isJsonStream(page.contentType) || isTextStream(page.contentType)) payload = utf8.decode(bytes);
  else {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    payload = btoa(binary);
  }
  return `event: data\n${payload
    .split(/\r\n|\r|\n/)
    .map((line) => `data:${line}`)
    .join("\n")}\n\n`;
}

/** The `control` event after each data event (and alone when there is no data). */
function controlEvent(page: StreamPage, cursor: string | undefined): string {
  const upToDate = page.next === page.tail;
  const control: Record<string, unknown> = { streamNextOffset: offsetOf(page.next) };
  if (upToDate && page.closed) control.streamClosed = true;
  else control.streamCursor = nextCursor(cursor);
  if (upToDate) control.upToDate = true;
  return `event: control\ndata:${JSON.stringify(control)}\n\n`;
}

/**
 * A stream as Server-Sent Events (the protocol's live SSE mode): a `data` event per page and a
 * `control` event after each (`streamNextOffset`, `streamCursor`, `upToDate`, and
 * `streamClosed` at the end of a closed stream, after which the response ends). It runs in the
 * worker as a chain of the topic's long-polls, so the topic's object holds no stream; it ends
 * after a minute (clients resume from the last `streamNextOffset`), when the stream goes away,
 * or when the token it was opened with expires.
 *
 * @example
 * return streamSse((after, wait) => stub.streamRead({ after, wait }), { first, after, cursor, signal, until });
 */
export function streamSse(read: Read, options: StreamSseOptions): Response {
  const { signal, until } = options;
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const write = (text: string) => writer.write(encoder.encode(text));

  const pump = async () => {
    const deadline = Date.now() + MAX_STREAM_MS;
    let page = options.first;
    for (;;) {
      const ended = page.closed && page.next === page.tail;
      if (page.messages.length > 0 || ended || page === options.first) {
        await write((page.messages.length > 0 ? dataEvent(page) : "") + controlEvent(page, options.cursor));
      } else await write(": keep-alive\n\n");
      if (ended) return;
      const left = Math.min(deadline, until ?? Number.POSITIVE_INFINITY) - Date.now();
      if (signal.aborted || left <= 0) return;
      const result = await read(page.next, Math.min(KEEP_ALIVE_MS, left));
      if (!result.ok) return;
      page = result.value;
    }
  };
  pump()
    .catch(() => {
      // The client went away mid-write: nothing to tell anyone.
    })
    .finally(() => writer.close().catch(() => {}));

  const headers: Record<string, string> = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache, no-store",
    "X-Accel-Buffering": "no",
  };
  if (!isTextStream(options.first.contentType)) headers["Stream-SSE-Data-Encoding"] = "base64";
  return new Response(readable, { headers });
}
