/**
 * A one-line progress bar on stderr for publishing large input: shown only when stderr is a
 * terminal and the input is large, so that pipes and logs never get control characters.
 */
import { formatBytes } from "./output.mjs";

/** Input at least this large (or past it, when the size is unknown) gets a progress bar. */
export const LARGE_INPUT_BYTES = 1024 * 1024;
const BAR_WIDTH = 24;
/** Redraws at most this often, ms. */
const REDRAW_MS = 100;

const count = new Intl.NumberFormat("en-US");

/**
 * Progress of a publish from a stream of `total` bytes (`undefined` when unknown: a pipe).
 *
 * @example
 * const progress = new Progress(process.stderr, size);
 * progress.update({ bytes: 4096, published: 100 });
 * progress.done();
 */
export class Progress {
  #stream;
  #total;
  #started = performance.now();
  #drawnAt = 0;
  #visible = false;
  #last = { bytes: 0, published: 0 };

  /** @param {NodeJS.WriteStream} stream @param {number | undefined} total */
  constructor(stream, total) {
    this.#stream = stream;
    this.#total = total;
  }

  /** Bytes of input read so far and messages the broker has stored. */
  update(state) {
    this.#last = state;
    if (!this.#visible) {
      const large = (this.#total ?? state.bytes) >= LARGE_INPUT_BYTES;
      if (!this.#stream.isTTY || !large) return;
      this.#visible = true;
    }
    const now = performance.now();
    if (now - this.#drawnAt < REDRAW_MS) return;
    this.#drawnAt = now;
    this.#draw(now);
  }

  /** Draws the final state and moves to a fresh line. */
  done() {
    if (!this.#visible) return;
    this.#draw(performance.now());
    this.#stream.write("\n");
    this.#visible = false;
  }

  #draw(now) {
    const { bytes, published } = this.#last;
    const seconds = Math.max((now - this.#started) / 1000, 0.001);
    const rate = `${count.format(Math.round(published / seconds))} messages/s`;
    const done = `${count.format(published)} messages`;
    let line;
    if (this.#total !== undefined && this.#total > 0) {
      const fraction = Math.min(bytes / this.#total, 1);
      const filled = Math.round(fraction * BAR_WIDTH);
      const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
      const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
      line = `${bar} ${percent}  ${done}  ${formatBytes(bytes)} of ${formatBytes(this.#total)}  ${rate}`;
    } else {
      line = `${done}  ${formatBytes(bytes)} read  ${rate}`;
    }
    this.#stream.write(`\r\x1b[K${line}`);
  }
}
