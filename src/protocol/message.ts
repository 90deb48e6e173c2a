// Shared with the client SDK, which runs these files as plain ES modules: relative imports
// carry their `.js` extension.
import { LIMITS } from "./limits.js";

/**
 * A message as it travels on the wire: in pull and log-read answers and in
 * WebSocket frames. `data` carries JSON bodies (parsed) and `text/*` bodies
 * (as a string); every other body is `dataBase64`.
 */
export interface WireMessage {
  seq: number;
  id: string;
  publishedAt: number;
  contentType: string;
  attributes: Record<string, string>;
  key?: string;
  /** When a delayed message becomes deliverable to subscriptions, epoch ms. */
  deliverAt?: number;
  /** When the message expires: it is not delivered to subscriptions after that, epoch ms. */
  expiresAt?: number;
  /** Delivery attempt, 1 for the first delivery (subscriptions only). */
  attempt?: number;
  /** When the consumer's lease runs out, epoch ms (subscriptions only). */
  leaseExpiresAt?: number;
  /** Where replies go: a topic, or a requester's inbox (`_reply.…`). */
  replyTo?: string;
  /** Ties replies to their request: a reply carries its request's. */
  correlationId?: string;
  data?: unknown;
  dataBase64?: string;
}

/**
 * A reply as the requester receives it: a message on the wire, but from an inbox rather than a
 * topic's log, so without a `seq` (nor delivery fields).
 */
export type ReplyMessage = Omit<WireMessage, "seq" | "deliverAt" | "attempt" | "leaseExpiresAt">;

const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * How deeply a JSON text nests arrays and objects, counted without parsing (brackets
 * inside strings do not count), so a hostile body is measured before anything recurses.
 *
 * @example
 * jsonDepth('{"a":[1,[2]]}'); // 3
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** True for `application/json` and `application/*+json` content types. */
export function isJsonType(contentType: string): boolean {
  const mime = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return mime === "application/json" || (mime.startsWith("application/") && mime.endsWith("+json"));
}

/** True for `text/*` content types. */
export function isTextType(contentType: string): boolean {
  return (contentType.split(";")[0]?.trim().toLowerCase() ?? "").startsWith("text/");
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Puts a stored body on the wire: parsed JSON for JSON types, a string for
 * text types, base64 for the rest (and for a stored body that does not decode,
 * so a message is never lost to its own content type).
 */
export function encodeBody(contentType: string, body: Uint8Array): Pick<WireMessage, "data" | "dataBase64"> {
  try {
    if (isJsonType(contentType)) {
      const text = textDecoder.decode(body);
      // Too deep to travel as parsed data (refused at publish; kept safe here for old rows).
      if (jsonDepth(text) <= LIMITS.jsonDepth) return { data: JSON.parse(text) };
      return { dataBase64: toBase64(body) };
    }
    if (isTextType(contentType)) return { data: textDecoder.decode(body) };
  } catch {
    // fall through to base64
  }
  return { dataBase64: toBase64(body) };
}
