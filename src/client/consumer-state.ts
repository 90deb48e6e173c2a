import type {
  AckFrame,
  ClientFrame,
  Duration,
  ExtendFrame,
  FlowFrame,
  NackFrame,
} from "../protocol/ws-frames.js";
import { MAX_SEQS_PER_FRAME } from "../protocol/ws-frames.js";

type SettlementFrame = AckFrame | NackFrame | ExtendFrame;

/**
 * The bookkeeping of one subscription consumer across a succession of sockets, with no
 * I/O: what it holds, what it owes the broker, and how much credit to ask for.
 *
 * - **Settlements** (`ack`, `nack`, `extend`) are queued and sent as a few batched frames,
 *   each with an `id`; a frame stays *unconfirmed* until the broker's `ok`. A socket that
 *   drops takes unconfirmed frames with it, so they are sent again on the next one
 *   (settling is idempotent by seq).
 * - **Credit**: the broker counts messages in flight per socket, so after a reconnect it
 *   does not know about the messages the application still holds from earlier sockets.
 *   The consumer asks for `maxInFlight` minus those, and raises it as they are settled,
 *   so the application never holds more than `maxInFlight` messages.
 * - **Limit**: a consumer that wants only `limit` messages never lets the credit exceed what
 *   it still wants, and sends the lowered credit before the ack that would free a slot, so
 *   the broker never leases a message that would only be given back (and have an attempt
 *   counted against it).
 *
 * @example
 * const state = new ConsumerState(10);
 * socket.send(state.connected());        // flow + anything owed
 * state.delivered(7);                    // true: hand it to the application
 * state.settle(7, { kind: "ack" });
 * socket.send(state.outgoing());         // [{ type: "ack", seqs: [7], id: "1" }]
 */
export class ConsumerState {
  readonly maxInFlight: number;
  #socket = 0;
  /** seq → the socket it was delivered on, for messages the application has not settled. */
  readonly #held = new Map<number, number>();
  #acks = new Set<number>();
  /** Keyed by the delay / ack timeout as written, so equal ones share a frame. */
  #nacks = new Map<string, { delay: Duration | undefined; seqs: Set<number> }>();
  #extends = new Map<string, { ackTimeout: Duration | undefined; seqs: Set<number> }>();
  readonly #unconfirmed = new Map<string, SettlementFrame>();
  #nextId = 1;
  /** The credit last sent on the current socket. */
  #creditSent: number | undefined;
  /** Messages the application still wants: `limit` less those received and not given back. */
  #wanted: number;

  constructor(maxInFlight: number, limit = Number.POSITIVE_INFINITY) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
      throw new RangeError("maxInFlight must be an integer >= 1");
    if (limit !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(limit) && limit >= 1))
      throw new RangeError("limit must be an integer >= 1");
    this.maxInFlight = maxInFlight;
    this.#wanted = limit;
  }

  /** True once `limit` messages were received: the broker is asked for no more. */
  get exhausted(): boolean {
    return this.#wanted <= 0;
  }

  /** Messages delivered and not yet acked or nacked by the application. */
  get held(): number {
    return this.#held.size;
  }

  /** True when nothing is waiting to be sent or confirmed. */
  get settledWithBroker(): boolean {
    return (
      this.#acks.size === 0 &&
      this.#nacks.size === 0 &&
      this.#extends.size === 0 &&
      this.#unconfirmed.size === 0
    );
  }

  /**
   * What the current socket may deliver: `maxInFlight` less what earlier sockets delivered and
   * is still held, and never more than what this socket holds plus what is still wanted.
   */
  get credit(): number {
    let earlier = 0;
    for (const socket of this.#held.values()) if (socket < this.#socket) earlier++;
    const current = this.#held.size - earlier;
    return Math.max(0, Math.min(this.maxInFlight - earlier, current + this.#wanted));
  }

  /** A new socket is open: the frames to send first (credit, then everything owed). */
  connected(): ClientFrame[] {
    this.#socket++;
    this.#creditSent = undefined;
    const resend = [...this.#unconfirmed.values()];
    return [...this.#flow(), ...resend, ...this.#drain()];
  }

  /** The credit a new socket should start with (all held messages are from earlier sockets then). */
  get nextCredit(): number {
    return Math.max(0, Math.min(this.maxInFlight - this.#held.size, this.#wanted));
  }

  /**
   * A message was delivered on the current socket. Returns false when the application
   * already holds that seq: the broker redelivered it (its lease ran out, or the socket it
   * came on closed) while the application is still working on it, and handing it out
   * twice would only duplicate the work; settling the held one settles it by seq.
   */
  delivered(seq: number): boolean {
    const known = this.#held.has(seq);
    this.#held.set(seq, this.#socket);
    if (!known) this.#wanted--;
    return !known;
  }

  /** Messages that never reached the application and that the broker took back (their socket closed). */
  forget(seqs: Iterable<number>): void {
    for (const seq of seqs) if (this.#held.delete(seq)) this.#wanted++;
  }

  settle(
    seq: number,
    settlement:
      | { kind: "ack" }
      | { kind: "nack"; delay?: Duration }
      | { kind: "extend"; ackTimeout?: Duration },
  ): void {
    if (settlement.kind === "extend") {
      const key = String(settlement.ackTimeout);
      const group = this.#extends.get(key) ?? { ackTimeout: settlement.ackTimeout, seqs: new Set<number>() };
      group.seqs.add(seq);
      this.#extends.set(key, group);
      return;
    }
    this.#held.delete(seq);
    if (settlement.kind === "ack") {
      this.#acks.add(seq);
      return;
    }
    const key = String(settlement.delay);
    const group = this.#nacks.get(key) ?? { delay: settlement.delay, seqs: new Set<number>() };
    group.seqs.add(seq);
    this.#nacks.set(key, group);
  }

  /**
   * While a socket is open: the frames owed now (credit when it changed, then settlements).
   * Credit goes first: a lowered credit must reach the broker before the ack that frees a slot.
   */
  outgoing(): ClientFrame[] {
    return [...this.#flow(), ...this.#drain()];
  }

  /** The broker confirmed a frame (`ok`). */
  confirmed(id: string): void {
    this.#unconfirmed.delete(id);
  }

  /** The broker refused a frame (`error` with its id); returns it so the failure can be reported. */
  refused(id: string): SettlementFrame | undefined {
    const frame = this.#unconfirmed.get(id);
    this.#unconfirmed.delete(id);
    return frame;
  }

  #flow(): FlowFrame[] {
    const credit = this.credit;
    if (credit === this.#creditSent) return [];
    this.#creditSent = credit;
    return [{ type: "flow", maxInFlight: credit }];
  }

  /** Turns queued settlements into frames (extends first: an ack sent before would void them). */
  #drain(): SettlementFrame[] {
    const frames: SettlementFrame[] = [];
    for (const { ackTimeout, seqs } of this.#extends.values()) {
      for (const chunk of chunks(seqs)) {
        frames.push(
          ackTimeout === undefined
            ? { type: "extend", seqs: chunk }
            : { type: "extend", seqs: chunk, ackTimeout },
        );
      }
    }
    for (const { delay, seqs } of this.#nacks.values()) {
      for (const chunk of chunks(seqs)) {
        frames.push(
          delay === undefined ? { type: "nack", seqs: chunk } : { type: "nack", seqs: chunk, delay },
        );
      }
    }
    for (const chunk of chunks(this.#acks)) frames.push({ type: "ack", seqs: chunk });
    this.#acks = new Set();
    this.#nacks = new Map();
    this.#extends = new Map();
    for (const frame of frames) {
      frame.id = String(this.#nextId++);
      this.#unconfirmed.set(frame.id, frame);
    }
    return frames;
  }
}

function chunks(seqs: Set<number>): number[][] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: number[][] = [];
  for (let i = 0; i < sorted.length; i += MAX_SEQS_PER_FRAME)
    out.push(sorted.slice(i, i + MAX_SEQS_PER_FRAME));
  return out;
}
