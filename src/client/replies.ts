import type { Replier } from "./message.js";
import { headerPublish } from "./publish.js";
import type { Transport } from "./transport.js";

/**
 * Sends a message's reply over HTTP (`POST /v1/replies/{replyTo}`): to the requester's inbox, or
 * into a reply topic with the message's `correlationId`. Used by every message a {@link Broker}
 * hands out, whether it came over a socket or not: HTTP checks the right to publish to a reply
 * topic, which a socket on another topic cannot.
 */
export function replyVia(transport: Transport): Replier {
  return async (message, data, options) => {
    const raw = headerPublish(data, { ...options, correlationId: message.correlationId });
    await transport.request("POST", ["v1", "replies", message.replyTo as string], raw);
  };
}
