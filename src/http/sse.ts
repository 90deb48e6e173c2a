import type { Result } from "../protocol/errors";
import type { ReadResult } from "../protocol/topic-rpc";

/** How long one long-poll waits; an idle stream sends a keep-alive comment this often. */
const KEEP_ALIVE_MS = 15_000;
/** A stream ends after this long; the browser's EventSource reconnects with Last-Event-ID. */
const MAX_STREAM_MS = 60 * 60_000;

type Read = (after: number, wait: number) => Promise<Result<ReadResult>>;

/**
 * The log as Server-Sent Events: each message is an event whose `id` is its
 * seq, so a reconnecting EventSource resumes with `Last-Event-ID` and misses
 * nothing still retained. The stream opens with a `hello` event (topic epoch);
 * an `error` event (problem+json fields) ends it when the topic is deleted or
 * re-created. It runs in the worker as a chain of long-polls, so the topic's
 * object holds no stream and can hibernate.
 *
 * @example
 * return sseResponse((after, wait) => stub.read({ after, limit: 500, wait }), 0, c.req.raw.signal);
 */
export function sseResponse(read: Read, start: number, signal: AbortSignal): Response {
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const write = (text: string) => writer.write(encoder.encode(text));

  const pump = async () => {
    const deadline = Date.now() + MAX_STREAM_MS;
    let after = start;
    let epoch: string | null = null;
    await write("retry: 1000\n\n");
    while (!signal.aborted && Date.now() < deadline) {
      const result = await read(after, epoch === null ? 0 : KEEP_ALIVE_MS);
      if (!result.ok) {
        await write(
          `event: error\ndata: ${JSON.stringify({ code: result.code, detail: result.detail })}\n\n`,
        );
        return;
      }
      const page = result.value;
      if (epoch === null) {
        epoch = page.epoch;
        await write(`event: hello\ndata: ${JSON.stringify({ epoch, after })}\n\n`);
      } else if (page.epoch !== epoch) {
        const detail = "the topic was deleted and re-created; seqs of the old epoch mean nothing here";
        await write(
          `event: error\ndata: ${JSON.stringify({ code: "conflict", detail, epoch: page.epoch })}\n\n`,
        );
        return;
      }
      let chunk = "";
      for (const message of page.messages)
        chunk += `id: ${message.seq}\ndata: ${JSON.stringify(message)}\n\n`;
      if (chunk === "") chunk = ": keep-alive\n\n";
      await write(chunk);
      after = page.next;
    }
  };
  pump()
    .catch(() => {
      // The client went away mid-write: nothing to tell anyone.
    })
    .finally(() => writer.close().catch(() => {}));

  return new Response(readable, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    },
  });
}
