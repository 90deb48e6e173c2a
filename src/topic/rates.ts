/** The time constant of every rate: about the last minute counts. */
export const RATE_WINDOW_MS = 60_000;

/**
 * A rate per second of a counter, as an exponentially weighted moving average over about a
 * minute (the "1-minute rate" of Dropwizard meters and Unix load averages). It is fed the counter
 * whenever its owner writes it, so each increase is seen when it happened, and read decayed to
 * now: a counter that stopped moving reads close to 0 a few minutes later.
 *
 * Memory only: after the object starts (an eviction, a deploy) it reads 0 and catches up with
 * the real rate within a minute or two. A counter that goes down (a transaction rolled back and
 * reloaded) starts it again from the new value, keeping the rate.
 *
 * @example
 * const meter = new Meter();
 * meter.observe(counters.published, Date.now()); // on every write of the counter
 * meter.perSecond(Date.now());                     // 12.5
 */
export class Meter {
  /** Events per ms, as of `#at`. */
  #rate = 0;
  #at = 0;
  #count: number | null = null;

  observe(count: number, now: number): void {
    if (this.#count === null || count < this.#count) {
      this.#rate = this.#decayed(now);
      this.#count = count;
      this.#at = now;
      return;
    }
    const added = count - this.#count;
    if (added === 0) return;
    // Each event adds 1/τ, and what was there decays by e^(−Δt/τ): a steady λ settles at λ.
    this.#rate = this.#decayed(now) + added / RATE_WINDOW_MS;
    this.#count = count;
    this.#at = Math.max(now, this.#at);
  }

  /** The rate at `now`, in events per second, rounded to 3 decimals. */
  perSecond(now: number): number {
    return Math.round(this.#decayed(now) * 1_000_000) / 1_000;
  }

  #decayed(now: number): number {
    const elapsed = Math.max(0, now - this.#at);
    return this.#rate * Math.exp(-elapsed / RATE_WINDOW_MS);
  }
}

/**
 * The meters of a topic's subscriptions: deliveries and acks per second, each fed when the
 * subscription's counters are written (./subscriptions.ts).
 */
export class SubscriptionRates {
  readonly #meters = new Map<string, { delivered: Meter; acked: Meter }>();

  observe(name: string, counters: { delivered: number; acked: number }, now: number): void {
    let meters = this.#meters.get(name);
    if (!meters) {
      meters = { delivered: new Meter(), acked: new Meter() };
      this.#meters.set(name, meters);
    }
    meters.delivered.observe(counters.delivered, now);
    meters.acked.observe(counters.acked, now);
  }

  /** `deliveryRate` and `ackRate` of a subscription, per second (0 for one never observed). */
  rates(name: string, now: number): { deliveryRate: number; ackRate: number } {
    const meters = this.#meters.get(name);
    return {
      deliveryRate: meters?.delivered.perSecond(now) ?? 0,
      ackRate: meters?.acked.perSecond(now) ?? 0,
    };
  }

  forget(name: string): void {
    this.#meters.delete(name);
  }

  clear(): void {
    this.#meters.clear();
  }
}
