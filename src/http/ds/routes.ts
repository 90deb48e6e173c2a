import { type Context, Hono, type MiddlewareHandler } from "hono";
import { can } from "../../auth/capabilities";
import { requireRight } from "../../auth/middleware";
import { validUntil } from "../../auth/tokens";
import { NAME_RULE } from "../../protocol/http";
import { isValidName } from "../../protocol/names";
import { offsetOf, type StreamAppendInput, type StreamCreateInput } from "../../protocol/streams";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, ProblemError, unwrap } from "../errors";
import { nameParam } from "../input";
import { rateLimit } from "../middleware/rate-limit";
import { callTopic } from "../topic-call";
import { appendAnswer, createAnswer } from "./answers";
import { streamMessages } from "./body";
import {
  closeHeader,
  expiryHeaders,
  forkHeaders,
  H,
  offsetValue,
  producerHeaders,
  requestContentType,
  streamSeqHeader,
} from "./headers";
import { readAnswer } from "./read";
import { streamSse } from "./sse";

/** Where streams live under the mount point: `/ds/v1/stream/{name}`, a stream being a topic. */
const STREAM_PATH = "/v1/stream/:topic";
const DEFAULT_LONG_POLL_MS = 20_000;

const bad = (detail: string) => new ProblemError("invalid_request", detail);

/** The name of the stream a `Stream-Forked-From` path or URL names. */
function sourceName(value: string): string {
  let path = value;
  try {
    path = new URL(value, "http://stream.invalid").pathname;
  } catch {
    throw bad(`${H.forkedFrom} must be the path of a stream, such as /v1/stream/orders`);
  }
  const match = /\/v1\/stream\/([^/]+)$/.exec(path);
  const name = match?.[1] === undefined ? "" : decodeURIComponent(match[1]);
  if (!isValidName(name)) throw bad(`${H.forkedFrom} must name a stream: ${NAME_RULE}`);
  return name;
}

function longPollMs(env: Env): number {
  const value = Number(env.DS_LONG_POLL_MS);
  return Number.isSafeInteger(value) && value > 0 ? Math.min(value, 60_000) : DEFAULT_LONG_POLL_MS;
}

/** An append needs `publish`; one that closes the stream needs `admin`, as a delete does. */
const appendRight: MiddlewareHandler<BrokerEnv> = async function appendRight(c, next) {
  return requireRight(closeHeader(c) ? "admin" : "publish")(c, next);
};

/** An SSE read is a connection and counts as one. */
const sseLimit = rateLimit("connect", { when: (c) => c.req.query("live") === "sse" });

/**
 * Durable Streams (the durable-streams protocol), mounted at `/ds`: each stream is the topic of
 * the same name, each offset a seq (DESIGN.md §9).
 */
export const streamProtocolRoutes = new Hono<BrokerEnv>();

/** The protocol's browser headers, on every answer (errors included). */
streamProtocolRoutes.use("*", async function streamSecurityHeaders(c, next) {
  await next();
  c.res.headers.set("X-Content-Type-Options", "nosniff");
  c.res.headers.set("Cross-Origin-Resource-Policy", "cross-origin");
  if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
});

streamProtocolRoutes.put(STREAM_PATH, requireRight("admin"), async (c) => {
  const topic = nameParam(c, "topic");
  const contentType = requestContentType(c);
  const expiry = expiryHeaders(c);
  const fork = forkHeaders(c, sourceName);
  if (fork && !can(c.get("principal"), "subscribe", fork.source)) {
    throw new ProblemError("forbidden", `this credential lacks "subscribe" on topic "${fork.source}"`);
  }
  const messages = await streamMessages(c.req.raw, contentType ?? "application/octet-stream", {
    append: false,
  });
  const input: StreamCreateInput = { contentType, ...expiry, closed: closeHeader(c), messages };
  if (fork) input.fork = fork;
  else if (contentType === null) input.contentType = "application/octet-stream";
  const outcome = unwrap(await callTopic(c.env, topic, (t) => t.streamCreate(input)));
  const url = new URL(c.req.url);
  return createAnswer(outcome, `${url.origin}${url.pathname}`);
});

streamProtocolRoutes.post(STREAM_PATH, appendRight, rateLimit("publish"), async (c) => {
  const topic = nameParam(c, "topic");
  const contentType = requestContentType(c);
  const close = closeHeader(c);
  const producer = producerHeaders(c);
  const streamSeq = streamSeqHeader(c);
  const messages = contentType === null ? [] : await streamMessages(c.req.raw, contentType, { append: true });
  if (contentType === null && c.req.raw.body !== null) {
    const rest = await c.req.raw.arrayBuffer();
    if (rest.byteLength > 0) throw bad("an append needs a Content-Type");
  }
  if (messages.length === 0 && !close) throw bad(`an append needs a body (or ${H.closed}: true)`);
  const input: StreamAppendInput = { contentType, messages, close };
  if (streamSeq !== undefined) input.streamSeq = streamSeq;
  if (producer) input.producer = producer;
  // Only a producer's append is safe to repeat behind the client's back: a retry is a duplicate.
  const idempotent = producer !== undefined;
  return appendAnswer(unwrap(await callTopic(c.env, topic, (t) => t.streamAppend(input), { idempotent })));
});

streamProtocolRoutes.get(STREAM_PATH, requireRight("subscribe"), sseLimit, async (c) => {
  const topic = nameParam(c, "topic");
  if (c.req.raw.method === "HEAD") return head(c, topic);
  const offsets = c.req.queries("offset") ?? [];
  if (offsets.length > 1) throw bad("send one offset");
  const live = c.req.query("live");
  if (live !== undefined && live !== "long-poll" && live !== "sse")
    throw bad("live must be long-poll or sse");
  const [offset] = offsets;
  if (live !== undefined && offset === undefined) throw bad(`live=${live} needs an offset`);
  const at = offset === undefined ? 0 : offsetValue(offset, "offset");
  const cursor = c.req.query("cursor");
  const read = (after: number | "now", wait: number) =>
    callTopic(c.env, topic, (t) => t.streamRead({ after, wait }));

  if (live === "sse") {
    const first = unwrap(await read(at, 0));
    const until = validUntil(c.get("principal"));
    return streamSse((from, wait) => read(from, wait), { first, cursor, signal: c.req.raw.signal, until });
  }
  const wait = live === "long-poll" ? longPollMs(c.env) : 0;
  const page = unwrap(await read(at, wait));
  const after = at === "now" ? page.next : at;
  return readAnswer(c, after, page, { fromNow: at === "now", longPoll: live === "long-poll", cursor });
});

streamProtocolRoutes.delete(STREAM_PATH, requireRight("admin"), async (c) => {
  const topic = nameParam(c, "topic");
  unwrap(await callTopic(c.env, topic, (t) => t.streamDelete()));
  return c.body(null, 204);
});
streamProtocolRoutes.all(STREAM_PATH, methodNotAllowed("GET", "POST", "PUT", "DELETE"));

/** HEAD: the stream's metadata without a body; it does not renew a sliding TTL. */
async function head(c: Context<BrokerEnv>, topic: string): Promise<Response> {
  const meta = unwrap(await callTopic(c.env, topic, (t) => t.streamHead()));
  const headers = new Headers({
    "Content-Type": meta.config.contentType,
    [H.nextOffset]: offsetOf(meta.tail),
    "Cache-Control": "no-store",
  });
  if (meta.closed) headers.set(H.closed, "true");
  if (meta.config.ttlSeconds !== null) headers.set(H.ttl, String(meta.config.ttlSeconds));
  if (meta.config.expiresAt !== null) headers.set(H.expiresAt, new Date(meta.config.expiresAt).toISOString());
  return new Response(null, { status: 200, headers });
}
