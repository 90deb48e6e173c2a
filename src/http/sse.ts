import type { Result } from "../protocol/errors";
import type { ReadResult } from "../protocol/topic-rpc";

/** How long one long-poll waits; an idle stream sends a keep-alive comment this often. */
const KEEP_ALIVE_MS = 15_000;
/** A stream ends after this long; the browser's EventSource reconnects with Last-Event-ID. */
const MAX_STREAM_MS = 60 * 60_000;

/** One long-poll of the log; `waitForTopic` while the stream has not yet seen the topic exist. */
type Read = (after: number, wait: number, waitForTopic: boolean) => Promise<Result<ReadResult>>;

/** Where a stream starts, when it ends, and who can stop it. */
export interface StreamOptions {
  /** Stream the messages after this seq. */
  start: number;
  /** The client went away. */
  signal: AbortSignal;
  /**
   * When the credential stops being accepted, epoch ms (`validUntil` in ../auth/tokens.ts), or
   * `null` when it never expires. The stream ends there with an `unauthorized` error event.
   */
  until: number | null;
}

const event = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The log as Server-Sent Events: each message is an event whose `id` is its
 * seq, so a reconnecting EventSource resumes with `Last-Event-ID` and misses
 * nothing still retained. The stream opens with a `hello` event (topic epoch); on a topic that
 * does not exist yet it waits, and says `hello` again with the epoch once the topic is created;
 * an `error` event (problem+json fields) ends it when the topic is deleted or
 * re-created. It runs in the worker as a chain of long-polls, so the topic's
 * object holds no stream and can hibernate. A stream opened with an expiring token ends when
 * the token would be refused, like a socket: each long-poll waits no longer than that.
 *
 * @example
 * return sseResponse((after, wait, waitForTopic) => stub.read({ after, limit: 500, wait, waitForTopic }), {
 *   start: 0,
 *   signal: c.req.raw.signal,
 *   until: validUntil(c.get("principal")),
 * });
 */
export function sseResponse(read: Read, options: StreamOptions): Response {
  const { start, signal, until } = options;
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const write = (text: string) => writer.write(encoder.encode(text));

  const pump = async () => {
    const deadline = Date.now() + MAX_STREAM_MS;
    let after = start;
    /** `undefined` until `hello`; `null` while waiting for the topic to be created. */
    let epoch: string | null | undefined;
    await write("retry: 1000\n\n");
    while (!signal.aborted && Date.now() < deadline) {
      const left = until === null ? KEEP_ALIVE_MS : until - Date.now();
      if (left <= 0) {
        await write(event("error", { code: "unauthorized", detail: "the token expired" }));
        return;
      }
      const wait = epoch === undefined ? 0 : Math.min(KEEP_ALIVE_MS, left);
      const result = await read(after, wait, epoch == null);
      if (!result.ok) {
        await write(event("error", { code: result.code, detail: result.detail }));
        return;
      }
      const page = result.value;
      if (epoch === undefined || (epoch === null && page.epoch !== null)) {
        // A stream opened before the topic existed says `hello` twice: first with `epoch: null`,
        // then with the epoch, before the topic's first message.
        epoch = page.epoch;
        await write(event("hello", { epoch, after }));
      } else if (page.epoch !== epoch) {
        const detail = "the topic was deleted and re-created; seqs of the old epoch mean nothing here";
        await write(event("error", { code: "conflict", detail, epoch: page.epoch }));
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
