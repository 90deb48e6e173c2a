/**
 * Long-polls parked until something changes in the topic, by what they wait for: log reads wait
 * for new messages, pulls for their subscription. Memory only: a waiting request lives no longer
 * than the object does.
 *
 * Waking is targeted, so parked polls do not multiply the cost of a change: reads are woken only
 * when the log grew (each then has something to answer), and a subscription's pulls one at a
 * time — a pull that was answered wakes the next (./consumer-verbs.ts), one that found nothing
 * parks again. A thousand parked pulls cost a publish one delivery attempt, not a thousand.
 */
export class Waiters {
  readonly #parked = new Map<string, Set<() => void>>();
  readonly #limit: number;
  #size = 0;

  /** `limit`: most polls parked at once; one more is refused rather than parked. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** How many long-polls are parked. */
  get size(): number {
    return this.#size;
  }

  /** The keys that have polls parked. */
  keys(): string[] {
    return [...this.#parked.keys()];
  }

  /** Wakes every poll parked on `key` (every key when omitted) to try again. */
  wakeAll(key?: string): void {
    for (const k of key === undefined ? this.keys() : [key]) {
      const parked = this.#parked.get(k);
      if (!parked) continue;
      for (const wake of [...parked]) wake();
    }
  }

  /** Wakes the poll parked longest on `key`, if any. */
  wakeOne(key: string): void {
    const first = this.#parked.get(key)?.values().next();
    if (first && !first.done) first.value();
  }

  /**
   * Tries `attempt` now and again each time the poll is woken, until it yields a value or `wait`
   * ms pass; then answers `null`. Answers `"full"` without waiting when `limit` polls are already
   * parked.
   */
  async waitFor<T>(key: string, wait: number, attempt: () => T | null): Promise<T | null | "full"> {
    const deadline = Date.now() + wait;
    for (;;) {
      const result = attempt();
      const remaining = deadline - Date.now();
      if (result !== null || remaining <= 0) return result;
      if (this.#size >= this.#limit) return "full";
      await this.#park(key, remaining);
    }
  }

  #park(key: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const parked = this.#parked.get(key) ?? new Set();
      this.#parked.set(key, parked);
      const done = () => {
        clearTimeout(timer);
        if (parked.delete(done)) this.#size--;
        if (parked.size === 0 && this.#parked.get(key) === parked) this.#parked.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      parked.add(done);
      this.#size++;
    });
  }
}

/** The key log reads park under. */
export const READS = "log";

/** The key a subscription's pulls park under. */
export const pullsOf = (subscription: string) => `pull:${subscription}`;
