import type { WireMessage } from "../protocol/message";
import type { ServerFrame } from "../protocol/ws-frames";
import type { Delivery } from "./delivery";
import { type Log, toWire } from "./log";
import type { OpenSockets, SocketState } from "./open-sockets";
import type { TopicStore } from "./store";
import type { Subscription } from "./subscriptions";

/** Most messages in one frame, and most pushed to one socket per round. */
const CHUNK = 100;
/** Most messages one pump pushes before yielding to other work. */
const PUMP_LIMIT = 5_000;
/** Most log rows read per tail group per feed. */
export const TAIL_PAGE = 500;

export const messagesFrame = (messages: WireMessage[]): ServerFrame =>
  messages.length === 1
    ? { type: "message", message: messages[0] as WireMessage }
    : { type: "messages", messages };

/**
 * Push delivery (DESIGN.md §3, §5): after every change, consumer sockets get what their
 * subscription has available within their credit, and live tails what the log has after them.
 */
export class Push {
  readonly #store: TopicStore;
  readonly #sockets: OpenSockets;
  /** Rotates which consumer is served first, so no socket is always last. */
  #rotate = 0;
  #feeding = false;

  constructor(store: TopicStore, sockets: OpenSockets) {
    this.#store = store;
    this.#sockets = sockets;
  }

  pump(): void {
    const { log, subscriptions, delivery } = this.#store;
    if (!log.meta) return;
    const now = Date.now();
    this.#store.transaction(() => {
      for (const subscription of subscriptions.all()) {
        pushToConsumers(subscription, this.#sockets, delivery, now, this.#rotate++);
      }
    });
    this.#feed();
  }

  /** A tail far behind catches up a page per turn, leaving room for other work in between. */
  #feed(): void {
    if (!feedTails(this.#sockets, this.#store.log) || this.#feeding) return;
    this.#feeding = true;
    setTimeout(() => {
      this.#feeding = false;
      if (this.#store.log.meta) this.#feed();
    }, 0);
  }
}

/**
 * Pushes a subscription's available messages to its sockets, round-robin in
 * chunks, within each socket's credit (`maxInFlight` minus what it holds).
 * Competing consumers thus share the messages and a slow one is never flooded.
 * Returns how many messages were pushed. Run inside a transaction.
 */
export function pushToConsumers(
  subscription: Subscription,
  sockets: OpenSockets,
  delivery: Delivery,
  now: number,
  rotate: number,
): number {
  const open = sockets.consumers(subscription.name);
  if (open.length === 0) return 0;
  const held = delivery.inFlightBy(subscription.name);
  const consumers: { ws: WebSocket; state: SocketState; credit: number }[] = [];
  for (const ws of open) {
    const state = sockets.state(ws);
    if (!state || ws.readyState !== WebSocket.OPEN) continue;
    consumers.push({ ws, state, credit: state.maxInFlight - (held.get(state.session) ?? 0) });
  }
  if (consumers.length === 0) return 0;
  const start = rotate % consumers.length;
  const order = [...consumers.slice(start), ...consumers.slice(0, start)];
  let pushed = 0;
  let progress = true;
  while (progress && pushed < PUMP_LIMIT) {
    progress = false;
    for (const consumer of order) {
      if (consumer.credit <= 0) continue;
      const batch = delivery.deliver(
        subscription,
        Math.min(consumer.credit, CHUNK),
        now,
        consumer.state.session,
      );
      if (batch.length === 0) return pushed; // nothing left for anyone
      sockets.send(consumer.ws, messagesFrame(batch));
      consumer.credit -= batch.length;
      pushed += batch.length;
      progress = true;
    }
  }
  return pushed;
}

/**
 * Sends live-tail sockets what the log has after the last seq each was sent.
 * Sockets at the same position share one read and one serialised frame, so a
 * publish fanned out to a thousand tails is read and encoded once. Returns
 * true when some socket has more to catch up on.
 */
export function feedTails(sockets: OpenSockets, log: Log): boolean {
  const groups = new Map<number, { ws: WebSocket; state: SocketState }[]>();
  for (const ws of sockets.tails()) {
    const state = sockets.state(ws);
    if (!state || ws.readyState !== WebSocket.OPEN) continue;
    const group = groups.get(state.lastSent) ?? [];
    group.push({ ws, state });
    groups.set(state.lastSent, group);
  }
  let more = false;
  for (const [after, group] of groups) {
    const rows = log.read(after, TAIL_PAGE);
    if (rows.length === 0) continue;
    if (rows.length === TAIL_PAGE) more = true;
    const frame = JSON.stringify(messagesFrame(rows.map(toWire)));
    const last = (rows.at(-1) as { seq: number }).seq;
    for (const { ws, state } of group) {
      sockets.send(ws, frame);
      state.lastSent = last;
      sockets.saveSoon(ws, state);
    }
  }
  return more;
}
