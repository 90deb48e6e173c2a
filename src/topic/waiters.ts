/**
 * Long-polls parked until something changes in the topic. Memory only: a
 * waiting request lives no longer than the object does.
 */
export class Waiters {
  readonly #parked = new Set<() => void>();

  /** How many long-polls are parked. */
  get size(): number {
    return this.#parked.size;
  }

  /** Wakes every parked long-poll to try again. */
  wake(): void {
    const parked = [...this.#parked];
    this.#parked.clear();
    for (const wake of parked) wake();
  }

  /**
   * Tries `attempt` now and again after every change, until it yields a value
   * or `wait` ms pass; then answers `null`.
   */
  async waitFor<T>(wait: number, attempt: () => T | null): Promise<T | null> {
    const deadline = Date.now() + wait;
    for (;;) {
      const result = attempt();
      const remaining = deadline - Date.now();
      if (result !== null || remaining <= 0) return result;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#parked.delete(done);
          resolve();
        };
        const timer = setTimeout(done, remaining);
        this.#parked.add(done);
      });
    }
  }
}
