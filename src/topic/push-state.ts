import type { PushHealth } from "../protocol/topic-rpc";
import type { Sql } from "../storage/sql";
import { newSecret } from "./webhook-signature";

/** A signing secret, and until when it signs (`null`: the current one, for as long as it is). */
interface Secret {
  secret: string;
  until: number | null;
}

interface State {
  secrets: Secret[];
  health: PushHealth;
}

const HEALTHY: PushHealth = {
  lastStatus: null,
  lastError: null,
  lastErrorAt: null,
  consecutiveFailures: 0,
  failures: 0,
};

/**
 * The `push_state` table: each push subscription's signing secrets and how its receiver has been
 * answering. The secrets never leave the object except in the answer to the `PUT` that made them
 * (they are not config, so no `GET` shows them). Mirrored in memory; a health row is written only
 * when the health changes, so a receiver that keeps answering 2xx costs no writes.
 */
export class PushState {
  readonly #sql: Sql;
  readonly #bySubscription = new Map<string, State>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  unload(): void {
    this.#bySubscription.clear();
  }

  load(): void {
    this.unload();
    for (const row of this.#sql.all<{ subscription: string; secrets: string; health: string }>(
      "SELECT subscription, secrets, health FROM push_state",
    )) {
      this.#bySubscription.set(row.subscription, {
        secrets: JSON.parse(row.secrets),
        health: { ...HEALTHY, ...JSON.parse(row.health) },
      });
    }
  }

  /** The secrets that sign a request at `now`: the current one, and a rotated one in its grace period. */
  signing(subscription: string, now: number): string[] {
    const secrets = this.#bySubscription.get(subscription)?.secrets ?? [];
    return secrets.filter((s) => s.until === null || s.until > now).map((s) => s.secret);
  }

  /**
   * Makes a secret when the subscription has none, or a new one when `rotate`, keeping the old
   * one signing until `now + grace`. Returns the new secret, or `null` when nothing was made.
   */
  ensureSecret(subscription: string, now: number, rotate: boolean, grace: number): string | null {
    const state = this.#bySubscription.get(subscription);
    const current = state?.secrets.filter((s) => s.until === null || s.until > now) ?? [];
    if (current.some((s) => s.until === null) && !rotate) return null;
    const secret = newSecret();
    const kept = current.map((s) => (s.until === null ? { ...s, until: now + grace } : s));
    const next: State = {
      secrets: [{ secret, until: null }, ...kept.filter((s) => s.until !== null && s.until > now)],
      health: state?.health ?? { ...HEALTHY },
    };
    this.#save(subscription, next);
    return secret;
  }

  health(subscription: string): PushHealth {
    return this.#bySubscription.get(subscription)?.health ?? { ...HEALTHY };
  }

  /** Records an answer (or its absence): a 2xx clears the failures, anything else counts one. */
  record(subscription: string, now: number, status: number | null, error: string | null): PushHealth {
    const state = this.#bySubscription.get(subscription) ?? { secrets: [], health: { ...HEALTHY } };
    const before = state.health;
    const health: PushHealth =
      error === null
        ? { ...before, lastStatus: status, consecutiveFailures: 0 }
        : {
            lastStatus: status,
            lastError: error,
            lastErrorAt: now,
            consecutiveFailures: before.consecutiveFailures + 1,
            failures: before.failures + 1,
          };
    const same =
      health.lastStatus === before.lastStatus &&
      health.consecutiveFailures === before.consecutiveFailures &&
      health.lastErrorAt === before.lastErrorAt;
    if (!same) this.#save(subscription, { ...state, health });
    return health;
  }

  delete(subscription: string): void {
    if (!this.#bySubscription.delete(subscription)) return;
    this.#sql.run("DELETE FROM push_state WHERE subscription = ?", subscription);
  }

  #save(subscription: string, state: State): void {
    this.#bySubscription.set(subscription, state);
    this.#sql.run(
      "INSERT OR REPLACE INTO push_state (subscription, secrets, health) VALUES (?, ?, ?)",
      subscription,
      JSON.stringify(state.secrets),
      JSON.stringify(state.health),
    );
  }
}
