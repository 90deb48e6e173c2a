import { LIMITS } from "../protocol/limits";
import type { WireMessage } from "../protocol/message";
import type { ServerFrame } from "../protocol/ws-frames";
import type { Delivery } from "./delivery";
import { helloFrame } from "./hello";
import type { Log } from "./log";
import { toWire } from "./message-rows";
import type { OpenSockets, SocketState } from "./open-sockets";
import type { TopicStore } from "./store";
import type { Subscription } from "./subscriptions";

/** Most messages in one frame, and most pushed to one socket per round. */
const CHUNK = 100;
/**
 * Most one pump pushes before it yields to other work (and lets the runtime flush the
 * sockets): the rest follows on the next turn.
 */
const PUMP_BUDGET = { messages: 5_000, bytes: 8 * 1024 * 1024 };
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
  /** Pushes again on a later turn (through the topic's reaction to a change, which re-arms the alarm). */
  readonly #again: () => void;
  /** Rotates which consumer is served first, so no socket is always last. */
  #rotate = 0;
  #scheduled = false;

  constructor(store: TopicStore, sockets: OpenSockets, again: () => void) {
    this.#store = store;
    this.#sockets = sockets;
    this.#again = again;
  }

  pump(): void {
    const { log, subscriptions, delivery } = this.#store;
    if (!log.meta) return;
    const now = Date.now();
    const budget = { ...PUMP_BUDGET };
    const consumersMore = this.#store.transaction(() => {
      let more = false;
      for (const subscription of subscriptions.all()) {
        more = pushToConsumers(subscription, this.#sockets, delivery, now, this.#rotate++, budget) || more;
      }
      return more;
    });
    // A tail far behind catches up a page per turn, leaving room for other work in between.
    const tailsMore = feedTails(this.#sockets, log);
    if ((consumersMore || tailsMore) && !this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        if (this.#store.log.meta) this.#again();
      }, 0);
    }
  }
}

/**
 * Pushes a subscription's available messages to its sockets, round-robin in
 * chunks, within each socket's credit (`maxInFlight` minus what it holds).
 * Competing consumers thus share the messages and a slow one is never flooded.
 * A frame holds at most `LIMITS.pushFrameBytes` of messages (at least one); the
 * pump stops when `budget` runs out, and then answers true: there may be more.
 * Run inside a transaction.
 */
export function pushToConsumers(
  subscription: Subscription,
  sockets: OpenSockets,
  delivery: Delivery,
  now: number,
  rotate: number,
  budget: { messages: number; bytes: number },
): boolean {
  const open = sockets.consumers(subscription.name);
  if (open.length === 0) return false;
  const held = delivery.inFlightBy(subscription.name);
  const consumers: { ws: WebSocket; state: SocketState; credit: number }[] = [];
  for (const ws of open) {
    const state = sockets.state(ws);
    if (!state || ws.readyState !== WebSocket.OPEN) continue;
    consumers.push({ ws, state, credit: state.maxInFlight - (held.get(state.session) ?? 0) });
  }
  if (consumers.length === 0) return false;
  const start = rotate % consumers.length;
  const order = [...consumers.slice(start), ...consumers.slice(0, start)];
  let progress = true;
  while (progress) {
    progress = false;
    for (const consumer of order) {
      if (consumer.credit <= 0) continue;
      if (budget.messages <= 0 || budget.bytes <= 0) return true;
      const batch = delivery.deliver(
        subscription,
        Math.min(consumer.credit, CHUNK, budget.messages),
        now,
        consumer.state.session,
        LIMITS.pushFrameBytes,
      );
      if (batch.length === 0) return false; // nothing left for anyone
      const frame = JSON.stringify(messagesFrame(batch));
      sockets.send(consumer.ws, frame);
      consumer.credit -= batch.length;
      budget.messages -= batch.length;
      budget.bytes -= frame.length;
      progress = true;
    }
  }
  return false;
}

/**
 * Sends live-tail sockets what the log has after the last seq each was sent; a tail that waited
 * for the topic is first told its epoch.
 * Sockets at the same position share one read and one serialised frame, so a
 * publish fanned out to a thousand tails is read and encoded once. Returns
 * true when some socket has more to catch up on.
 */
export function feedTails(sockets: OpenSockets, log: Log): boolean {
  const groups = new Map<number, { ws: WebSocket; state: SocketState }[]>();
  const meta = log.meta;
  for (const ws of sockets.tails()) {
    const state = sockets.state(ws);
    if (!state || ws.readyState !== WebSocket.OPEN) continue;
    if (state.waiting && meta) {
      // The topic it waited for exists now: its epoch goes before its first message.
      delete state.waiting;
      sockets.save(ws, state);
      sockets.send(ws, helloFrame(meta.name, state, meta.epoch));
    }
    const group = groups.get(state.lastSent) ?? [];
    group.push({ ws, state });
    groups.set(state.lastSent, group);
  }
  let more = false;
  for (const [after, group] of groups) {
    const rows = log.read(after, TAIL_PAGE, LIMITS.pushFrameBytes);
    if (rows.length === 0) continue;
    if ((rows.at(-1) as { seq: number }).seq < log.counters.nextSeq - 1) more = true;
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
