import { logLine } from "../protocol/log";
import { CLOSE_CODES } from "../protocol/ws-frames";
import { close } from "./open-sockets";
import type { SocketEndpoint } from "./socket-endpoint";

/**
 * The runtime's WebSocket events for the topic's sockets, guarded: one bad frame or close must
 * not take the object down with it. Failures are logged with the topic's name, and the socket is
 * told.
 */
export class SocketEvents {
  readonly #topic: string;
  readonly #endpoint: SocketEndpoint;

  constructor(topic: string, endpoint: SocketEndpoint) {
    this.#topic = topic;
    this.#endpoint = endpoint;
  }

  async message(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      await this.#endpoint.message(ws, message);
    } catch (error) {
      logLine("error", "a socket frame failed", { topic: this.#topic }, error);
      close(ws, CLOSE_CODES.INTERNAL, "internal: the frame could not be handled");
      this.gone(ws);
    }
  }

  /** The client closed: finish the close handshake, then let go of what the socket held. */
  closed(ws: WebSocket, code: number, reason: string): void {
    close(ws, code, reason);
    this.gone(ws);
  }

  gone(ws: WebSocket): void {
    try {
      this.#endpoint.closed(ws);
    } catch (error) {
      logLine("error", "cleaning up after a socket failed", { topic: this.#topic }, error);
    }
  }
}
