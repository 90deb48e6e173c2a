// Shared with the client SDK, which runs these files as plain ES modules: relative imports
// carry their `.js` extension.
import { isValidName } from "./names.js";

/**
 * Where replies to a request go (DESIGN.md §3, "Request/reply"): `replyTo` names either a topic
 * (a durable reply, stored there with the request's `correlationId`) or an inbox, a name only the
 * broker makes, `_reply.` and 32 hex digits, that a requester waits on for the first reply. An
 * inbox can never be a topic (topic names start with a letter or digit), so one field carries both.
 */
export const INBOX_PREFIX = "_reply.";

const INBOX_RE = /^_reply\.[0-9a-f]{32}$/;

/** Most bytes of a `correlationId`. */
export const CORRELATION_ID_BYTES = 256;

/** Visible ASCII, spaces inside: what an HTTP header carries verbatim. */
const CORRELATION_ID_RE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * True for an inbox name as the broker makes them.
 *
 * @example
 * isInbox("_reply.9f2c4e0b7a1d4c3e8b5a6f7d0e1c2b3a"); // true
 * isInbox("orders.replies");                       // false: a topic
 */
export const isInbox = (name: string): boolean => INBOX_RE.test(name);

/** True for a `replyTo` the broker accepts: a topic name or an inbox. */
export const isReplyTo = (value: unknown): value is string =>
  typeof value === "string" && (isValidName(value) || isInbox(value));

/** True for a `correlationId` the broker accepts: 1–256 characters of visible ASCII (and inner spaces). */
export const isCorrelationId = (value: unknown): value is string =>
  typeof value === "string" && value.length <= CORRELATION_ID_BYTES && CORRELATION_ID_RE.test(value);

/** A new inbox name: 128 random bits, so knowing it is what lets a responder reply. */
export function newInbox(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return INBOX_PREFIX + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
