import { CLOSE_CODES } from "../protocol/ws-frames.js";
import { BrokerError, errorFromClose } from "./errors.js";

/** Time as the client sees it; injectable so reconnect logic is tested without waiting. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * How a lost connection is retried.
 *
 * @example
 * broker.subscribe("orders", "billing", { reconnect: { min: 500, max: 10_000 } });
 */
export interface ReconnectOptions {
  /** First backoff ceiling, ms (default 250). */
  min?: number;
  /** Largest backoff ceiling, ms (default 30,000). */
  max?: number;
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
  /** A connection that stayed open this long resets the backoff, ms (default 5,000). */
  stableAfter?: number;
}

/**
 * Exponential backoff with full jitter: attempt `n` waits a uniformly random time in
 * `[0, min(max, min·2ⁿ))`, which spreads a crowd of clients reconnecting after the same
 * outage instead of letting them return in waves.
 *
 * @example
 * const backoff = new Backoff({ min: 250, max: 30_000 });
 * backoff.delay(3); // somewhere in [0, 2000)
 */
export class Backoff {
  readonly min: number;
  readonly max: number;
  readonly #random: () => number;

  constructor(options: { min?: number; max?: number } = {}, random: () => number = Math.random) {
    this.min = options.min ?? 250;
    this.max = options.max ?? 30_000;
    if (!(this.min > 0)) throw new RangeError("reconnect.min must be > 0 ms");
    if (!(this.max >= this.min)) throw new RangeError("reconnect.max must be >= reconnect.min");
    this.#random = random;
  }

  /** The ceiling of attempt `n` (0-based). */
  ceiling(attempt: number): number {
    // 2^attempt overflows to Infinity long after the ceiling is reached; min() keeps it finite.
    return Math.min(this.max, this.min * 2 ** Math.min(attempt, 52));
  }

  delay(attempt: number): number {
    return Math.floor(this.#random() * this.ceiling(attempt));
  }
}

/** What to do after a socket was lost. */
export type ReconnectDecision =
  | { retry: true; delay: number; error: BrokerError }
  | { retry: false; error: BrokerError };

/** Closes that no retry can fix: the thing is gone, or the protocol is broken. */
const FINAL_CLOSES: ReadonlySet<number> = new Set([
  CLOSE_CODES.TOPIC_DELETED,
  CLOSE_CODES.SUBSCRIPTION_DELETED,
  CLOSE_CODES.EPOCH_CHANGED,
  CLOSE_CODES.NOT_FOUND,
  CLOSE_CODES.INVALID_FRAME,
]);

/**
 * The reconnect policy of one connection, as a plain state machine: it is told when a
 * socket opened and how it was lost, and decides whether and when to try again.
 *
 * - Retried: network drops, 1001/1011/1013, unknown codes, and 1008 `unauthorized`
 *   once per fresh token when the token comes from a provider that can mint a new one.
 * - Final: 1008 otherwise (forbidden, refused token), 4000, 4001, 4002, 4004, 4400, and
 *   `maxAttempts` failures in a row.
 * - The backoff restarts only after a connection stayed open `stableAfter` ms, so a
 *   server that accepts and drops at once is not hammered.
 *
 * @example
 * const policy = new Reconnector({ canRefreshToken: true });
 * const next = policy.lost({ code: 1006, reason: "" }); // { retry: true, delay: …, error }
 */
export class Reconnector {
  readonly #backoff: Backoff;
  readonly #clock: Clock;
  readonly #maxAttempts: number;
  readonly #stableAfter: number;
  readonly #canRefreshToken: boolean;
  #failures = 0;
  #openedAt: number | undefined;
  #unauthorizedInARow = 0;

  constructor(
    options: ReconnectOptions & { canRefreshToken?: boolean } = {},
    clock: Clock = SYSTEM_CLOCK,
    random: () => number = Math.random,
  ) {
    this.#backoff = new Backoff(options, random);
    this.#clock = clock;
    this.#maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    if (!(this.#maxAttempts >= 1)) throw new RangeError("reconnect.maxAttempts must be >= 1");
    this.#stableAfter = options.stableAfter ?? 5_000;
    this.#canRefreshToken = options.canRefreshToken ?? false;
  }

  /** Failed attempts since the last stable connection: the `n` of the next backoff. */
  get attempt(): number {
    return this.#failures;
  }

  /** The broker said `hello` on a new socket. */
  opened(): void {
    this.#openedAt = this.#clock.now();
    this.#unauthorizedInARow = 0;
  }

  /**
   * The socket was lost: `close` is what the broker or the runtime said, `undefined` when
   * the socket could not even be created, or `error` when something else failed first.
   */
  lost(close: { code: number; reason: string } | undefined, cause?: unknown): ReconnectDecision {
    const error = lossError(close, cause);
    const openedAt = this.#openedAt;
    this.#openedAt = undefined;
    if (openedAt !== undefined && this.#clock.now() - openedAt >= this.#stableAfter) this.#failures = 0;

    if (close !== undefined && FINAL_CLOSES.has(close.code)) return { retry: false, error };
    if (close?.code === CLOSE_CODES.POLICY || error.code === "unauthorized" || error.code === "forbidden") {
      // A refused token is worth one retry with a fresh one; twice in a row means the
      // provider hands out tokens the broker will not take, and retrying forever hides it.
      const refreshable =
        error.code === "unauthorized" && this.#canRefreshToken && this.#unauthorizedInARow === 0;
      if (!refreshable) return { retry: false, error };
      this.#unauthorizedInARow++;
    }
    if (error.code === "not_found" || error.code === "invalid_request" || error.code === "invalid_name") {
      return { retry: false, error };
    }
    if (this.#failures >= this.#maxAttempts) return { retry: false, error };
    const delay = Math.max(this.#backoff.delay(this.#failures), error.retryAfter ?? 0);
    this.#failures++;
    return { retry: true, delay, error };
  }
}

/** The error that says why a socket was lost. */
export function lossError(close: { code: number; reason: string } | undefined, cause?: unknown): BrokerError {
  if (close !== undefined) return errorFromClose(close.code, close.reason);
  return cause instanceof BrokerError ? cause : new BrokerError("network", describe(cause), { cause });
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return cause === undefined ? "the connection failed" : String(cause);
}
