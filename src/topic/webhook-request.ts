import type { WireMessage } from "../protocol/message";
import type { PushConfig } from "../protocol/topic-rpc";
import { VERSION } from "../protocol/version";
import type { MessageRow } from "./message-rows";
import { signatureHeader } from "./webhook-signature";

const utf8 = new TextEncoder();

/** Where a request to a service binding is addressed: the receiving Worker sees this URL. */
export const SERVICE_ORIGIN = "https://edge-broker.push";

/** What a push request is made from: the delivered message, and its stored row for `raw`. */
export interface PushDelivery {
  topic: string;
  subscription: string;
  message: WireMessage;
  /** The stored message, for the `raw` format (its own bytes and content type). */
  row?: MessageRow;
}

/**
 * The id a receiver deduplicates by: the same for every attempt at one message for one
 * subscription, and different between subscriptions (two subscriptions pushing one message to
 * one receiver are two deliveries).
 *
 * @example
 * webhookId("0b6f…", "billing"); // "0b6f…/billing"
 */
export const webhookId = (messageId: string, subscription: string): string => `${messageId}/${subscription}`;

/** JSON with every character outside printable ASCII escaped, so it travels in a header. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The request that delivers one message, signed per Standard Webhooks (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`). `json` (the default) sends the message as on the
 * wire, with its `attempt`; `raw` sends the message's own bytes under its own content type, and
 * the rest of the message (seq, id, attempt, key, attributes, times) as JSON in the
 * `edge-broker-message` header.
 *
 * @example
 * const request = await pushRequest(push, delivery, ["whsec_…"], Date.now());
 */
export async function pushRequest(
  push: PushConfig,
  delivery: PushDelivery,
  secrets: readonly string[],
  now: number,
): Promise<Request> {
  const { message, row } = delivery;
  const id = webhookId(message.id, delivery.subscription);
  const timestamp = Math.floor(now / 1000);
  let body: Uint8Array<ArrayBuffer>;
  const headers = new Headers({
    "user-agent": `edge-broker/${VERSION}`,
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "edge-broker-topic": delivery.topic,
    "edge-broker-subscription": delivery.subscription,
  });
  if (push.format === "raw" && row) {
    body = new Uint8Array(row.body);
    headers.set("content-type", row.content_type);
    const { data: _data, dataBase64: _base64, ...meta } = message;
    headers.set("edge-broker-message", asciiJson(meta));
  } else {
    body = new Uint8Array(utf8.encode(JSON.stringify(message)));
    headers.set("content-type", "application/json");
  }
  headers.set("webhook-signature", await signatureHeader(secrets, id, timestamp, body));
  const url =
    push.url ??
    `${SERVICE_ORIGIN}/${encodeURIComponent(delivery.topic)}/${encodeURIComponent(delivery.subscription)}`;
  return new Request(url, { method: "POST", headers, body, redirect: "manual" });
}
