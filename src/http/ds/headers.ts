import type { Context } from "hono";
import { contentTypeSchema, parseInput } from "../../protocol/http";
import { type ForkPoint, type ProducerStamp, parseOffset } from "../../protocol/streams";
import { ProblemError } from "../errors";

/** The protocol's header names. */
export const H = {
  nextOffset: "Stream-Next-Offset",
  upToDate: "Stream-Up-To-Date",
  cursor: "Stream-Cursor",
  closed: "Stream-Closed",
  seq: "Stream-Seq",
  ttl: "Stream-TTL",
  expiresAt: "Stream-Expires-At",
  sseEncoding: "Stream-SSE-Data-Encoding",
  forkedFrom: "Stream-Forked-From",
  forkOffset: "Stream-Fork-Offset",
  forkSubOffset: "Stream-Fork-Sub-Offset",
  producerId: "Producer-Id",
  producerEpoch: "Producer-Epoch",
  producerSeq: "Producer-Seq",
  expectedSeq: "Producer-Expected-Seq",
  receivedSeq: "Producer-Received-Seq",
} as const;

const bad = (detail: string) => new ProblemError("invalid_request", detail);

/** The longest `Stream-TTL`: past it, expiry times leave the range of dates. */
const MAX_TTL_SECONDS = 100 * 366 * 86_400;

/** A non-negative decimal integer without sign, leading zeros, point or exponent, up to 2^53 - 1. */
const DECIMAL_RE = /^(?:0|[1-9]\d*)$/;

function decimal(value: string, header: string): number {
  const number = Number(value);
  if (!DECIMAL_RE.test(value) || !Number.isSafeInteger(number)) {
    throw bad(`${header} must be a non-negative integer in decimal, without sign or leading zeros`);
  }
  return number;
}

/** The request's `Content-Type`, validated, or `null` when it sent none. */
export function requestContentType(c: Context): string | null {
  const value = c.req.header("content-type");
  if (value === undefined || value.trim() === "") return null;
  const parsed = parseInput(contentTypeSchema, value, "Content-Type");
  if (!parsed.ok) throw bad(parsed.detail);
  return value.trim();
}

/** `Stream-TTL` (seconds) and `Stream-Expires-At` (RFC 3339); both at once is refused. */
export function expiryHeaders(c: Context): { ttlSeconds: number | null; expiresAt: number | null } {
  const ttl = c.req.header(H.ttl);
  const at = c.req.header(H.expiresAt);
  if (ttl !== undefined && at !== undefined) throw bad(`send ${H.ttl} or ${H.expiresAt}, not both`);
  if (ttl !== undefined) {
    const seconds = decimal(ttl, H.ttl);
    if (seconds > MAX_TTL_SECONDS)
      throw bad(`${H.ttl} must be at most ${MAX_TTL_SECONDS} seconds (100 years)`);
    return { ttlSeconds: seconds, expiresAt: null };
  }
  if (at !== undefined) {
    const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i.test(at)
      ? Date.parse(at)
      : Number.NaN;
    if (Number.isNaN(time)) throw bad(`${H.expiresAt} must be an RFC 3339 time such as 2030-01-01T00:00:00Z`);
    return { ttlSeconds: null, expiresAt: time };
  }
  return { ttlSeconds: null, expiresAt: null };
}

/** `Stream-Closed: true` (any other value is not a close). */
export function closeHeader(c: Context): boolean {
  return c.req.header(H.closed)?.trim().toLowerCase() === "true";
}

/** The idempotent producer's three headers, all or none. */
export function producerHeaders(c: Context): ProducerStamp | undefined {
  const id = c.req.header(H.producerId);
  const epoch = c.req.header(H.producerEpoch);
  const seq = c.req.header(H.producerSeq);
  if (id === undefined && epoch === undefined && seq === undefined) return undefined;
  if (id === undefined || epoch === undefined || seq === undefined) {
    throw bad(`send ${H.producerId}, ${H.producerEpoch} and ${H.producerSeq} together, or none of them`);
  }
  if (id.length === 0 || id.length > 256) throw bad(`${H.producerId} must be 1 to 256 characters`);
  return { id, epoch: decimal(epoch, H.producerEpoch), seq: decimal(seq, H.producerSeq) };
}

/** `Stream-Seq`: an opaque string compared byte-wise. */
export function streamSeqHeader(c: Context): string | undefined {
  const value = c.req.header(H.seq);
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > 256) throw bad(`${H.seq} must be 1 to 256 characters`);
  return value;
}

/** The seq an offset header or parameter names (`-1` is the start). */
export function offsetValue(value: string, what: string): number | "now" {
  const parsed = parseOffset(value);
  if (parsed === null) throw bad(`${what} is not an offset of this stream`);
  return parsed === "start" ? 0 : parsed;
}

/**
 * `Stream-Forked-From` (the source's path, as `/v1/stream/{name}` under the mount point, or a
 * full URL), `Stream-Fork-Offset` and `Stream-Fork-Sub-Offset`.
 */
export function forkHeaders(c: Context, nameOf: (path: string) => string): ForkPoint | undefined {
  const from = c.req.header(H.forkedFrom);
  const offset = c.req.header(H.forkOffset);
  const sub = c.req.header(H.forkSubOffset);
  if (from === undefined) {
    if (offset !== undefined || sub !== undefined) throw bad(`fork headers need ${H.forkedFrom}`);
    return undefined;
  }
  const subOffset = sub === undefined ? 0 : decimal(sub, H.forkSubOffset);
  if (subOffset > 0 && offset === undefined) throw bad(`${H.forkSubOffset} needs ${H.forkOffset}`);
  const at = offset === undefined ? null : offsetValue(offset, H.forkOffset);
  if (at === "now") throw bad(`${H.forkOffset} must be an offset; omit it to fork at the tail`);
  return { source: nameOf(from), offset: at, subOffset };
}

/** Start of the cursor's intervals: 2024-10-09T00:00:00Z. */
const CURSOR_EPOCH_MS = Date.UTC(2024, 9, 9);
const CURSOR_INTERVAL_MS = 20_000;

/**
 * The `Stream-Cursor` of a live answer: the current 20 s interval since the cursor epoch, and
 * never at or below the one the client echoed (a random step ahead), so caches keyed on it
 * always move on.
 */
export function nextCursor(echoed: string | undefined, now = Date.now()): string {
  const interval = Math.floor((now - CURSOR_EPOCH_MS) / CURSOR_INTERVAL_MS);
  const previous = echoed !== undefined && /^\d{1,15}$/.test(echoed) ? Number(echoed) : -1;
  if (previous < interval) return String(interval);
  return String(previous + 1 + Math.floor(Math.random() * 180));
}
