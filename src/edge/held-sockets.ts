import type { RelayAudienceRow } from "../protocol/edge-rpc";
import type { ErrorCode } from "../protocol/errors";
import { CLOSE_CODES, closeReason, type ServerFrame } from "../protocol/ws-frames";
import { echoSubprotocol } from "../protocol/ws-handshake";
import type { Receivers } from "./fan-out";

/**
 * What a relay keeps of one client socket, in its attachment (it survives hibernation and
 * eviction with the socket; the object's memory does not). Small: an attachment holds 2 KiB.
 */
export interface HeldSocket {
  v: 1;
  topic: string;
  /** The topic's epoch the socket was admitted in. */
  epoch: string;
  /** The last seq sent to the client: the stream continues after it. */
  lastSent: number;
  session: string;
  canPublish: boolean;
  expiresAt: number | null;
  /** Who the topic counts the socket as; absent when not counted. */
  subject?: string;
  privileged?: boolean;
}

/** A relay's socket as a receiver of its topic's batches. */
export interface HeldReceiver {
  ws: WebSocket;
  state: HeldSocket;
  lastSent: number;
  epoch: string;
}

/**
 * The client sockets an edge object holds, by topic. States live in attachments, written as soon
 * as they change (a relay that is evicted resumes each socket exactly after what it was sent), and
 * are cached in memory with the sockets by topic, rebuilt from the runtime after a wake-up.
 */
export class HeldSockets {
  readonly #ctx: DurableObjectState;
  readonly #states = new WeakMap<WebSocket, HeldSocket>();
  #byTopic: Map<string, Set<WebSocket>> | null = null;

  constructor(ctx: DurableObjectState) {
    this.#ctx = ctx;
  }

  /** Accepts a hibernatable socket and returns the 101 answer for the client. */
  accept(request: Request, state: HeldSocket): { response: Response; socket: WebSocket } {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.#ctx.acceptWebSocket(server);
    this.save(server, state);
    if (this.#byTopic) this.#add(this.#byTopic, server, state);
    const protocol = echoSubprotocol(request);
    const headers = protocol === null ? undefined : { "Sec-WebSocket-Protocol": protocol };
    return { response: new Response(null, { status: 101, webSocket: client, headers }), socket: server };
  }

  state(ws: WebSocket): HeldSocket | null {
    const cached = this.#states.get(ws);
    if (cached) return cached;
    const state = ws.deserializeAttachment() as HeldSocket | null;
    if (state?.v !== 1) return null;
    this.#states.set(ws, state);
    return state;
  }

  save(ws: WebSocket, state: HeldSocket): void {
    this.#states.set(ws, state);
    ws.serializeAttachment(state);
  }

  /** The open sockets of a topic. */
  of(topic: string): WebSocket[] {
    return [...(this.#index().get(topic) ?? [])];
  }

  all(): WebSocket[] {
    return [...this.#index().values()].flatMap((set) => [...set]);
  }

  forget(ws: WebSocket): void {
    const state = this.state(ws);
    if (state) this.#byTopic?.get(state.topic)?.delete(ws);
  }

  /** What the object holds of a topic, by who is counted for it. */
  audience(topic: string): RelayAudienceRow[] {
    const rows = new Map<string, RelayAudienceRow>();
    for (const ws of this.of(topic)) {
      const state = this.state(ws);
      if (!state) continue;
      const subject = state.subject ?? "";
      const privileged = state.privileged === true;
      const key = `${privileged ? 1 : 0}${subject}`;
      const row = rows.get(key) ?? { subject, privileged, sockets: 0 };
      row.sockets++;
      rows.set(key, row);
    }
    return [...rows.values()];
  }

  /** The earliest token expiry among open sockets, or `null`. */
  nextExpiry(): number | null {
    let earliest: number | null = null;
    for (const ws of this.all()) {
      const at = this.state(ws)?.expiresAt ?? null;
      if (at !== null && (earliest === null || at < earliest)) earliest = at;
    }
    return earliest;
  }

  send(ws: WebSocket, frame: ServerFrame | string): void {
    try {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    } catch {
      // closed under us: its close handler cleans up
    }
  }

  /** The sockets of each topic as receivers of its batches (./fan-out.ts). */
  receivers(): Receivers<HeldReceiver> {
    return {
      of: (topic) =>
        this.of(topic).flatMap((ws) => {
          const state = this.state(ws);
          if (!state || ws.readyState !== WebSocket.OPEN) return [];
          return [{ ws, state, lastSent: state.lastSent, epoch: state.epoch }];
        }),
      send: (_topic, group, frame, last) => {
        for (const receiver of group) {
          this.send(receiver.ws, frame);
          receiver.state.lastSent = last;
          // Written before the next batch: a relay evicted now resumes each socket exactly here.
          this.save(receiver.ws, receiver.state);
        }
      },
      end: (group, closeCode, code, detail) => {
        for (const { ws } of group) this.refuse(ws, closeCode, code, detail);
      },
    };
  }

  /** Sends an error frame, closes with `closeCode` and forgets the socket. */
  refuse(ws: WebSocket, closeCode: number, code: ErrorCode, detail: string): void {
    this.send(ws, { type: "error", code, message: detail });
    close(ws, closeCode, closeReason(code, detail));
    this.forget(ws);
  }

  #index(): Map<string, Set<WebSocket>> {
    if (this.#byTopic) return this.#byTopic;
    const index = new Map<string, Set<WebSocket>>();
    for (const ws of this.#ctx.getWebSockets()) {
      const state = this.state(ws);
      if (state && ws.readyState === WebSocket.OPEN) this.#add(index, ws, state);
    }
    this.#byTopic = index;
    return index;
  }

  #add(index: Map<string, Set<WebSocket>>, ws: WebSocket, state: HeldSocket): void {
    const set = index.get(state.topic) ?? new Set<WebSocket>();
    set.add(ws);
    index.set(state.topic, set);
  }
}

/** Closes a socket, tolerating one already closed; codes reserved for the runtime become 1000. */
export function close(ws: WebSocket, code: number = CLOSE_CODES.NORMAL, reason = ""): void {
  const sendable = code === 1005 || code === 1006 || code === 1015 ? CLOSE_CODES.NORMAL : code;
  try {
    ws.close(sendable, reason);
  } catch {
    // already closed: nothing to answer
  }
}
