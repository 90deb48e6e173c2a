/**
 * The parts of a WebSocket handshake both the worker and the topic's object read: whether a
 * request is an upgrade, and which subprotocol to answer with.
 */
import { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL } from "./ws-frames";

/** Whether a request asks to become a WebSocket. */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("Upgrade")?.toLowerCase() === "websocket";
}

/** The entries of a `Sec-WebSocket-Protocol` header, trimmed, without empty ones. */
export const subprotocols = (header: string): string[] =>
  header
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");

/**
 * The subprotocol a WebSocket upgrade should answer with: `edge-broker.v1` when the
 * client offered it, `null` otherwise. Never the `bearer.` entry: echoing it would put
 * the token in a response header, and a browser only accepts an answer it offered.
 *
 * @example
 * echoSubprotocol(new Request("http://b/", { headers: { "Sec-WebSocket-Protocol": "edge-broker.v1, bearer.abc" } }));
 * // "edge-broker.v1"
 */
export function echoSubprotocol(request: Request): string | null {
  const header = request.headers.get("Sec-WebSocket-Protocol");
  if (header === null) return null;
  return subprotocols(header).includes(SUBPROTOCOL) ? SUBPROTOCOL : null;
}

export { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL };
