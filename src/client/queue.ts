/**
 * An unbounded queue read with `for await`: producers `push`, one consumer iterates.
 * `end()` lets the consumer drain what is queued and then stop; `end(error)` makes
 * the iteration throw once the queue is drained.
 */
export class Queue<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #head = 0;
  #waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;
  #ended = false;
  #error: unknown;
  readonly #onReturn: () => void;

  /** `onReturn` runs when the consumer leaves the loop early (`break`, `return`, `throw`). */
  constructor(onReturn: () => void = () => {}) {
    this.#onReturn = onReturn;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(item: T): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting.resolve({ value: item, done: false });
      return;
    }
    this.#items.push(item);
  }

  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting === undefined) return;
    if (error === undefined) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(error);
  }

  /**
   * Undoes an `end()` without an error that the consumer has not seen yet (items were still
   * queued when it ended, and were drained since). Does nothing after a failure.
   */
  reopen(): void {
    if (this.#error === undefined) this.#ended = false;
  }

  /** Removes and returns every queued item (used when a consumer is closed). */
  drain(): T[] {
    const items = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return items;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head] as T;
      this.#head++;
      // Compact now and then so a long-running queue does not keep every item it served.
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      if (this.#error === undefined) return Promise.resolve({ value: undefined, done: true });
      const error = this.#error;
      // Throw once; a second `next()` after the failure reports the end.
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#waiting !== undefined)
      return Promise.reject(new Error("only one consumer may iterate at a time"));
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#onReturn();
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
