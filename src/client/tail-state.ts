import type { WireMessage } from "../protocol/message.js";
import { CLOSE_CODES, type HelloFrame } from "../protocol/ws-frames.js";
import { BrokerError } from "./errors.js";

/**
 * Where a live tail stands, with no I/O: the last seq it has seen and the topic's
 * epoch. Each socket resumes after that seq, so a reconnect neither skips nor repeats
 * a retained message; a changed epoch (the topic was deleted and re-created) ends the
 * tail instead of silently reading a different log from the old position. A tail opened
 * before its topic exists is told `epoch: null` and learns the epoch from a second `hello`
 * when the topic is created; until then it resumes without one (after seq 0).
 *
 * @example
 * const state = new TailState({ after: 41 });
 * state.hello({ type: "hello", topic: "t", epoch: "e1", session: "s" }); // undefined: fine
 * state.accept(message42); // true, position is now 42
 * state.query(); // { after: 42, epoch: "e1" }
 */
export class TailState {
  #position: number | undefined;
  #epoch: string | undefined;

  constructor(options: { after?: number; epoch?: string } = {}) {
    if (options.after !== undefined && !(Number.isSafeInteger(options.after) && options.after >= 0)) {
      throw new RangeError("after must be a seq (an integer >= 0)");
    }
    this.#position = options.after;
    this.#epoch = options.epoch;
  }

  /** The last seq seen (or the tail position the broker announced); `undefined` before either. */
  get position(): number | undefined {
    return this.#position;
  }

  /** The topic's epoch, once known. */
  get epoch(): string | undefined {
    return this.#epoch;
  }

  /** The query of the next socket. */
  query(): { after?: number | undefined; epoch?: string | undefined } {
    // An absent position or epoch stays out of the frame: JSON leaves `undefined` out.
    return { after: this.#position, epoch: this.#epoch };
  }

  /** Checks a socket's `hello`; returns the error that must end the tail, if any. */
  hello(frame: HelloFrame): BrokerError | undefined {
    if (frame.epoch == null) {
      // The topic does not exist yet: wait for it from where the broker says, knowing no epoch.
      if (this.#position === undefined && frame.after !== undefined) this.#position = frame.after;
      return undefined;
    }
    if (this.#epoch !== undefined && frame.epoch !== this.#epoch) {
      return new BrokerError(
        "conflict",
        `topic ${frame.topic} was deleted and re-created: seq ${this.#position ?? 0} of epoch ${this.#epoch} means nothing now`,
        { closeCode: CLOSE_CODES.EPOCH_CHANGED },
      );
    }
    this.#epoch = frame.epoch;
    // A tail that started "from now" and has seen nothing yet resumes from where it started.
    if (this.#position === undefined && frame.after !== undefined) this.#position = frame.after;
    return undefined;
  }

  /** True for a message past the position (which it advances); false for one already seen. */
  accept(message: WireMessage): boolean {
    if (this.#position !== undefined && message.seq <= this.#position) return false;
    this.#position = message.seq;
    return true;
  }
}
