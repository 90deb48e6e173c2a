import type { ErrorCode } from "../protocol/errors";
import { CLOSE_CODES, closeReason, type ServerFrame } from "../protocol/ws-frames";
import { echoSubprotocol } from "../protocol/ws-handshake";

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
  /** Who the socket is counted as (see ./upgrade.ts); absent when not counted. */
  subject?: string;
  /** Opened with the admin key: may use the headroom above the topic's socket cap. */
  privileged?: boolean;
  /**
   * Tails: opened before the topic existed (told `epoch: null`). When the topic is created, the
   * socket is told its epoch in a second `hello` before its first message (./push.ts).
   */
  waiting?: true;
}

/** Open sockets by role: live tails, and the consumers of each subscription; and counts by holder. */
interface Roles {
  tails: Set<WebSocket>;
  consumers: Map<string, Set<WebSocket>>;
  /** Sockets per subject (those opened with one). */
  subjects: Map<string, number>;
  /** Sockets opened with the admin key. */
  privileged: number;
}

/** How long a live tail's position may wait in memory before it is written to its attachment. */
const SAVE_DELAY_MS = 1_000;

/**
 * The topic's open sockets: per-socket state in attachments, and the sockets by role. Both are
 * cached in memory and rebuilt from the runtime after a wake-up (`getWebSockets`,
 * `deserializeAttachment`): a publish fanned out to a thousand sockets must not list and
 * deserialize a thousand attachments.
 */
export class OpenSockets {
  readonly #ctx: DurableObjectState;
  readonly #states = new WeakMap<WebSocket, SocketState>();
  #roles: Roles | null = null;
  /** Sockets whose cached state is ahead of their attachment. */
  readonly #unsaved = new Set<WebSocket>();
  #saving = false;
  /** The earliest token expiry among open sockets; `undefined` until worked out. */
  #earliestExpiry: number | null | undefined = undefined;

  constructor(ctx: DurableObjectState) {
    this.#ctx = ctx;
  }

  /** Accepts a hibernatable socket and returns the 101 answer for the client. */
  accept(request: Request, state: SocketState): { response: Response; socket: WebSocket } {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.#ctx.acceptWebSocket(server);
    this.save(server, state);
    if (this.#roles) this.#add(this.#roles, server, state);
    if (state.expiresAt !== null && this.#earliestExpiry !== undefined) {
      this.#earliestExpiry =
        this.#earliestExpiry === null ? state.expiresAt : Math.min(this.#earliestExpiry, state.expiresAt);
    }
    // Echo the subprotocol only when offered: browsers fail a handshake whose
    // answer they did not offer, and never echo a bearer.<token> entry.
    const protocol = echoSubprotocol(request);
    const headers = protocol === null ? undefined : { "Sec-WebSocket-Protocol": protocol };
    return { response: new Response(null, { status: 101, webSocket: client, headers }), socket: server };
  }

  state(ws: WebSocket): SocketState | null {
    const cached = this.#states.get(ws);
    if (cached) return cached;
    const state = ws.deserializeAttachment() as SocketState | null;
    if (state?.v !== 1) return null;
    this.#states.set(ws, state);
    return state;
  }

  /** Stores a socket's state now: in memory and in its attachment. */
  save(ws: WebSocket, state: SocketState): void {
    this.#states.set(ws, state);
    ws.serializeAttachment(state);
    this.#unsaved.delete(ws);
  }

  /**
   * Stores a socket's state in memory now and in its attachment within a second.
   * For the position of a live tail, which moves with every publish. The pending
   * timer keeps the object from hibernating before the attachment is written.
   */
  saveSoon(ws: WebSocket, state: SocketState): void {
    this.#states.set(ws, state);
    this.#unsaved.add(ws);
    if (this.#saving) return;
    this.#saving = true;
    setTimeout(() => {
      this.#saving = false;
      for (const socket of this.#unsaved) {
        const current = this.#states.get(socket);
        if (current && socket.readyState === WebSocket.OPEN) socket.serializeAttachment(current);
      }
      this.#unsaved.clear();
    }, SAVE_DELAY_MS);
  }

  /** Forgets a socket that closed. */
  forget(ws: WebSocket): void {
    this.#unsaved.delete(ws);
    const state = this.state(ws);
    if (state?.expiresAt === this.#earliestExpiry) this.#earliestExpiry = undefined;
    if (!this.#roles) return;
    const removed =
      this.#roles.tails.delete(ws) ||
      (state?.subscription !== undefined &&
        this.#roles.consumers.get(state.subscription)?.delete(ws) === true);
    if (removed && state) this.#count(this.#roles, state, -1);
  }

  /** How many sockets a subject holds. */
  heldBy(subject: string): number {
    return this.#byRole().subjects.get(subject) ?? 0;
  }

  /** How many sockets were opened with the admin key. */
  get privileged(): number {
    return this.#byRole().privileged;
  }

  /** When the next socket's token expires (worked out again only when it may have moved). */
  nextExpiry(): number | null {
    if (this.#earliestExpiry !== undefined) return this.#earliestExpiry;
    let earliest: number | null = null;
    for (const ws of this.all()) {
      const expiresAt = this.state(ws)?.expiresAt ?? null;
      if (expiresAt !== null && (earliest === null || expiresAt < earliest)) earliest = expiresAt;
    }
    this.#earliestExpiry = earliest;
    return earliest;
  }

  consumers(subscription: string): WebSocket[] {
    return [...(this.#byRole().consumers.get(subscription) ?? [])];
  }

  tails(): WebSocket[] {
    return [...this.#byRole().tails];
  }

  all(): WebSocket[] {
    const roles = this.#byRole();
    return [...roles.tails, ...[...roles.consumers.values()].flatMap((set) => [...set])];
  }

  get count(): number {
    const roles = this.#byRole();
    let n = roles.tails.size;
    for (const set of roles.consumers.values()) n += set.size;
    return n;
  }

  #byRole(): Roles {
    if (this.#roles) return this.#roles;
    const roles: Roles = { tails: new Set(), consumers: new Map(), subjects: new Map(), privileged: 0 };
    for (const ws of this.#ctx.getWebSockets()) {
      const state = this.state(ws);
      if (state && ws.readyState === WebSocket.OPEN) this.#add(roles, ws, state);
    }
    this.#roles = roles;
    return roles;
  }

  #add(roles: Roles, ws: WebSocket, state: SocketState): void {
    this.#count(roles, state, 1);
    if (state.kind === "tail") {
      roles.tails.add(ws);
      return;
    }
    const name = state.subscription as string;
    const set = roles.consumers.get(name) ?? new Set<WebSocket>();
    set.add(ws);
    roles.consumers.set(name, set);
  }

  #count(roles: Roles, state: SocketState, by: 1 | -1): void {
    if (state.privileged) roles.privileged += by;
    if (state.subject === undefined) return;
    const n = (roles.subjects.get(state.subject) ?? 0) + by;
    if (n > 0) roles.subjects.set(state.subject, n);
    else roles.subjects.delete(state.subject);
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
    this.forget(ws);
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
