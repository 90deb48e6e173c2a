import { encodeBody, type WireMessage } from "../protocol/message";

/** A stored message, as the `messages` table holds it (./log.ts owns the table). */
export interface MessageRow extends Record<string, SqlStorageValue> {
  seq: number;
  id: string;
  published_at: number;
  deliver_at: number;
  /** When it expires for subscriptions; `null` = never. */
  expires_at: number | null;
  key: string | null;
  attributes: string | null;
  content_type: string;
  body: ArrayBuffer;
  reply_to: string | null;
  correlation_id: string | null;
}

/** What a message costs to carry, in bytes: its body and its attributes (as stored). */
export const SIZE = "length(body) + coalesce(length(attributes), 0)";

/** A message without its body: what delivery decides on before it loads anything large. */
export interface MessageHead extends Record<string, SqlStorageValue> {
  seq: number;
  deliver_at: number;
  expires_at: number | null;
  key: string | null;
  attributes: string | null;
  /** Stored bytes of body and attributes. */
  size: number;
}

/** A head and its body: what a filter on bodies decides on. */
export interface HeadWithBody extends MessageHead {
  content_type: string;
  body: ArrayBuffer;
}

/**
 * How many of `items`, taken in order, fit in `maxBytes` — never fewer than one (a message
 * larger than a page still travels, alone).
 *
 * @example
 * fitting([{ size: 3 }, { size: 3 }, { size: 3 }], 7); // 2
 */
export function fitting(items: readonly { size: number }[], maxBytes: number): number {
  let total = 0;
  for (const [i, item] of items.entries()) {
    total += item.size;
    if (total > maxBytes && i > 0) return i;
  }
  return items.length;
}

export function toWire(row: MessageRow): WireMessage {
  const message: WireMessage = {
    seq: row.seq,
    id: row.id,
    publishedAt: row.published_at,
    contentType: row.content_type,
    attributes: row.attributes ? JSON.parse(row.attributes) : {},
  };
  if (row.key !== null) message.key = row.key;
  if (row.deliver_at > row.published_at) message.deliverAt = row.deliver_at;
  if (row.expires_at !== null && row.expires_at !== undefined) message.expiresAt = row.expires_at;
  if (row.reply_to !== null) message.replyTo = row.reply_to;
  if (row.correlation_id !== null) message.correlationId = row.correlation_id;
  return Object.assign(message, encodeBody(row.content_type, new Uint8Array(row.body)));
}

/** Whether a message's time to live has run out at `now`. */
export const isExpired = (row: { expires_at: number | null }, now: number): boolean =>
  row.expires_at !== null && row.expires_at !== undefined && row.expires_at <= now;
