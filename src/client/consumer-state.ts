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
 *   (settling is idempotent by seq). Each frame names the topic's epoch the messages were
 *   delivered in, so a settlement can never land on a re-created topic's messages of the
 *   same seqs: the broker refuses it instead.
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
 * state.delivered(7, "9f2c");            // true: hand it to the application
 * state.settle(7, { kind: "ack" });
 * socket.send(state.outgoing());         // [{ type: "ack", seqs: [7], epoch: "9f2c", id: "1" }]
 */
export class ConsumerState {
  readonly maxInFlight: number;
  #socket = 0;
  /** seq → the socket and epoch it was delivered in, for messages the application has not settled. */
  readonly #held = new Map<number, { socket: number; epoch: string | undefined }>();
  /** Keyed by epoch (and the delay / ack timeout as written), so equal ones share a frame. */
  #acks = new Map<string, Group>();
  #nacks = new Map<string, Group & { delay: Duration | undefined }>();
  #extends = new Map<string, Group & { ackTimeout: Duration | undefined }>();
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
    for (const { socket } of this.#held.values()) if (socket < this.#socket) earlier++;
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
  delivered(seq: number, epoch?: string): boolean {
    const known = this.#held.has(seq);
    this.#held.set(seq, { socket: this.#socket, epoch });
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
      | { kind: "nack"; delay?: Duration | undefined }
      | { kind: "extend"; ackTimeout?: Duration | undefined },
  ): void {
    const epoch = this.#held.get(seq)?.epoch;
    if (settlement.kind === "extend") {
      const { ackTimeout } = settlement;
      join(this.#extends, `${epoch}|${ackTimeout}`, seq, () => ({ epoch, ackTimeout, seqs: new Set() }));
      return;
    }
    this.#held.delete(seq);
    if (settlement.kind === "ack") {
      join(this.#acks, `${epoch}`, seq, () => ({ epoch, seqs: new Set() }));
      return;
    }
    const { delay } = settlement;
    join(this.#nacks, `${epoch}|${delay}`, seq, () => ({ epoch, delay, seqs: new Set() }));
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

  /**
   * Turns queued settlements into frames (extends first: an ack sent before would void them). An
   * `undefined` epoch, delay or ack timeout stays out of the frame: JSON leaves it out.
   */
  #drain(): SettlementFrame[] {
    const frames: SettlementFrame[] = [];
    for (const { epoch, ackTimeout, seqs } of this.#extends.values()) {
      for (const chunk of chunks(seqs)) {
        frames.push({ type: "extend", seqs: chunk, epoch, ackTimeout } as ExtendFrame);
      }
    }
    for (const { epoch, delay, seqs } of this.#nacks.values()) {
      for (const chunk of chunks(seqs)) frames.push({ type: "nack", seqs: chunk, epoch, delay } as NackFrame);
    }
    for (const { epoch, seqs } of this.#acks.values()) {
      for (const chunk of chunks(seqs)) frames.push({ type: "ack", seqs: chunk, epoch } as AckFrame);
    }
    this.#acks = new Map();
    this.#nacks = new Map();
    this.#extends = new Map();
    for (const frame of frames) {
      frame.id = String(this.#nextId++);
      this.#unconfirmed.set(frame.id, frame);
    }
    return frames;
  }
}

/** Settlements that travel in one frame: same kind, same epoch, same delay or ack timeout. */
interface Group {
  epoch: string | undefined;
  seqs: Set<number>;
}

function join<G extends Group>(groups: Map<string, G>, key: string, seq: number, create: () => G): void {
  const group = groups.get(key) ?? create();
  group.seqs.add(seq);
  groups.set(key, group);
}

function chunks(seqs: Set<number>): number[][] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: number[][] = [];
  for (let i = 0; i < sorted.length; i += MAX_SEQS_PER_FRAME)
    out.push(sorted.slice(i, i + MAX_SEQS_PER_FRAME));
  return out;
}
