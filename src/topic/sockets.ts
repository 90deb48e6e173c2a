import type { ErrorCode } from "../protocol/errors";
import { CLOSE_CODES, closeReason, type ServerFrame, SUBPROTOCOL } from "../protocol/ws-frames";

/**
 * What a socket needs to survive hibernation, kept in its attachment (the
 * object's memory may vanish while the socket stays open). Versioned so a
 * newer deploy can read attachments written by an older one.
 */
export interface SocketState {
  v: 1;
  kind: "consumer" | "tail";
  session: string;
  /** Consumers: the subscription this socket consumes. */
  subscription?: string;
  /** Consumers: most messages delivered to this socket and not yet settled. */
  maxInFlight: number;
  /** Tails: the last seq sent (the stream continues after it). */
  lastSent: number;
  /** Whether the token that opened the socket may publish to the topic. */
  canPublish: boolean;
  /** When the token that opened the socket expires (epoch ms), if it does. */
  expiresAt: number | null;
}

const TAIL_TAG = "tail";
const subscriptionTag = (name: string) => `sub:${name}`;

/** Per-socket state in attachments, and the tags that find sockets by role. */
export class Sockets {
  readonly #ctx: DurableObjectState;

  constructor(ctx: DurableObjectState) {
    this.#ctx = ctx;
  }

  /** Accepts a hibernatable socket and returns the 101 answer for the client. */
  accept(request: Request, state: SocketState): { response: Response; socket: WebSocket } {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const tags = [state.kind === "tail" ? TAIL_TAG : subscriptionTag(state.subscription as string)];
    this.#ctx.acceptWebSocket(server, tags);
    server.serializeAttachment(state);
    // Echo the subprotocol only when offered: browsers fail a handshake whose
    // answer they did not offer, and never echo a bearer.<token> entry.
    const offered = (request.headers.get("Sec-WebSocket-Protocol") ?? "").split(",").map((p) => p.trim());
    const headers = offered.includes(SUBPROTOCOL) ? { "Sec-WebSocket-Protocol": SUBPROTOCOL } : undefined;
    return { response: new Response(null, { status: 101, webSocket: client, headers }), socket: server };
  }

  state(ws: WebSocket): SocketState | null {
    const state = ws.deserializeAttachment() as SocketState | null;
    return state && state.v === 1 ? state : null;
  }

  save(ws: WebSocket, state: SocketState): void {
    ws.serializeAttachment(state);
  }

  consumers(subscription: string): WebSocket[] {
    return this.#ctx.getWebSockets(subscriptionTag(subscription));
  }

  tails(): WebSocket[] {
    return this.#ctx.getWebSockets(TAIL_TAG);
  }

  all(): WebSocket[] {
    return this.#ctx.getWebSockets();
  }

  /** Sends a frame; a socket that is already closing is skipped quietly. */
  send(ws: WebSocket, frame: ServerFrame | string): boolean {
    try {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
      return true;
    } catch {
      return false; // closed under us: its close handler cleans up
    }
  }

  /** Sends an error frame and closes with `closeCode`. */
  refuse(ws: WebSocket, closeCode: number, code: ErrorCode, detail: string): void {
    this.send(ws, { type: "error", code, message: detail });
    close(ws, closeCode, closeReason(code, detail));
  }

  closeAll(sockets: WebSocket[], closeCode: number, code: ErrorCode, detail: string): void {
    for (const ws of sockets) this.refuse(ws, closeCode, code, detail);
  }
}

/**
 * Closes a socket, tolerating one that is already closed. Codes the protocol
 * reserves for the runtime (1005 no status, 1006 abnormal, 1015 TLS) cannot be
 * sent, so a close that arrived with one is answered with 1000.
 */
export function close(ws: WebSocket, code: number = CLOSE_CODES.NORMAL, reason = ""): void {
  const sendable = code === 1005 || code === 1006 || code === 1015 ? CLOSE_CODES.NORMAL : code;
  try {
    ws.close(sendable, reason);
  } catch {
    // already closed: nothing to answer
  }
}
