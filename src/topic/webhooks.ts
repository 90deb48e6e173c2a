import { logLine } from "../protocol/log";
import { checkPushUrl } from "../protocol/push-url";
import type { PushConfig } from "../protocol/topic-rpc";
import { backoffDelay } from "./backoff";
import type { Changes } from "./changes";
import { PUSH_CONSUMER } from "./delivery";
import { outcomeOf, type PushOutcome } from "./push-outcome";
import type { PushState } from "./push-state";
import type { TopicStore } from "./store";
import type { Subscription } from "./subscriptions";
import { pushRequest } from "./webhook-request";

/** A push lease outlives its request's timeout by this much, so a late answer still settles it. */
export const LEASE_MARGIN_MS = 5_000;
/** Most messages leased for push in one round, per subscription. */
const ROUND = 100;

/** What a receiver's answer (or its absence) came to, waiting to be settled. */
interface Answer {
  subscription: string;
  seq: number;
  outcome: PushOutcome;
}

/** Sends a push request: `fetch` for a URL, the binding's `fetch` for a service. */
export type PushTransport = (push: PushConfig, request: Request, signal: AbortSignal) => Promise<Response>;

export interface WebhookDeps {
  topic: string;
  store: TopicStore;
  state: PushState;
  changes: Changes;
  transport: PushTransport;
  /** `PUSH_ALLOW_PRIVATE`: loopback and `http:` receivers are allowed (local development). */
  allowPrivate: boolean;
  /** Keeps the object running until a request settles (`ctx.waitUntil`). */
  keepAlive: (work: Promise<unknown>) => void;
  random?: () => number;
}

/**
 * Push subscriptions (DESIGN.md §3): each message is leased to the consumer `push` (as a pull
 * leases it), sent to the receiver outside any transaction, and settled by the answer — a 2xx
 * acks, anything else nacks with the subscription's backoff (or the receiver's `Retry-After`),
 * and `maxAttempts` leads to the dead letters as for pulls. Every step is a row: a request whose
 * object dies in flight leaves a lease that expires and comes back, so nothing is lost or
 * skipped. Memory holds only what bounds the pace — the rate's tokens and a pause after
 * failures — and what is in flight is counted from the leases, so it is right after a restart.
 */
export class Webhooks {
  readonly #deps: WebhookDeps;
  readonly #random: () => number;
  /** Tokens per subscription with a `ratePerSecond`, refilled by time. */
  readonly #tokens = new Map<string, { tokens: number; at: number }>();
  /** Subscriptions whose receiver asked for (or earned) a pause, until when. */
  readonly #pausedUntil = new Map<string, number>();
  /** When a pump is scheduled in memory; the alarm is set to it too (`nextDue`). */
  #wakeAt: number | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Answers not settled yet; a zero timer settles them together (`#answered`). */
  #answers: (Answer & { done: () => void })[] = [];

  constructor(deps: WebhookDeps) {
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
  }

  /** Leases what each push subscription may send now, and sends it. */
  pump(): void {
    const { store } = this.#deps;
    if (!store.log.meta) return;
    const now = Date.now();
    let wakeAt: number | null = null;
    const later = (at: number) => {
      wakeAt = wakeAt === null ? at : Math.min(wakeAt, at);
    };
    const sends: {
      subscription: string;
      push: PushConfig;
      messages: ReturnType<TopicStore["delivery"]["deliver"]>;
    }[] = [];
    store.transaction(() => {
      for (const subscription of store.subscriptions.all()) {
        const push = subscription.config.push;
        if (!push || subscription.config.paused) continue;
        const pausedUntil = this.#pausedUntil.get(subscription.name) ?? 0;
        if (pausedUntil > now) {
          later(pausedUntil);
          continue;
        }
        const inFlight = store.delivery.inFlightBy(subscription.name).get(PUSH_CONSUMER) ?? 0;
        let slots = Math.min(push.maxInFlight - inFlight, ROUND);
        const tokens = this.#refill(subscription.name, push, now);
        if (tokens !== null) slots = Math.min(slots, Math.floor(tokens));
        if (slots <= 0) {
          if (tokens !== null && tokens < 1)
            later(now + Math.ceil((1 - tokens) * (1000 / (push.ratePerSecond ?? 1))));
          continue;
        }
        const messages = store.delivery.deliver(
          subscription,
          slots,
          now,
          PUSH_CONSUMER,
          undefined,
          push.timeout + LEASE_MARGIN_MS,
        );
        if (messages.length === 0) continue;
        this.#spend(subscription.name, messages.length);
        // Rate-bound with more to send: come back when a token is there.
        if (tokens !== null && messages.length === slots)
          later(now + Math.ceil(1000 / (push.ratePerSecond ?? 1)));
        sends.push({ subscription: subscription.name, push, messages });
      }
    });
    if (sends.length > 0) this.#deps.changes.react("alarm"); // lease expiries moved
    this.#schedule(wakeAt);
    for (const { subscription, push, messages } of sends) {
      const rows = push.format === "raw" ? store.log.get(messages.map((m) => m.seq)) : null;
      for (const message of messages) {
        const row = rows?.get(message.seq);
        const delivery = { topic: this.#deps.topic, subscription, message, ...(row ? { row } : {}) };
        this.#deps.keepAlive(this.#send(push, delivery));
      }
    }
  }

  /** When the alarm must run for push: a pause or the rate holds back messages until then. */
  nextDue(): number | null {
    return this.#wakeAt;
  }

  /** The subscription was reconfigured or deleted: its pace starts afresh. */
  forget(subscription: string): void {
    this.#tokens.delete(subscription);
    this.#pausedUntil.delete(subscription);
  }

  async #send(push: PushConfig, delivery: Parameters<typeof pushRequest>[1]): Promise<void> {
    const now = Date.now();
    let outcome: PushOutcome;
    try {
      outcome = await this.#attempt(push, delivery, now);
    } catch (error) {
      logLine(
        "error",
        "a push failed",
        { topic: this.#deps.topic, subscription: delivery.subscription },
        error,
      );
      outcome = { ok: false, status: null, error: "the broker failed to send the request" };
    }
    await this.#answered({ subscription: delivery.subscription, seq: delivery.message.seq, outcome });
  }

  /**
   * Queues an answer to be settled, and resolves once it is. Answers that arrive before the queue
   * is settled share one transaction: a commit (and an fsync) per answer would serialise the
   * receiver's answers behind the disk and hold every next request at the output gate.
   */
  #answered(answer: Answer): Promise<void> {
    return new Promise((resolve) => {
      this.#answers.push({ ...answer, done: resolve });
      if (this.#answers.length === 1) setTimeout(() => this.#settleAnswers(), 0);
    });
  }

  #settleAnswers(): void {
    const answers = this.#answers;
    this.#answers = [];
    try {
      this.#settle(answers);
    } catch (error) {
      // Their leases stay, expire and come back: nothing is lost, only delayed.
      logLine(
        "error",
        "settling push answers failed",
        { topic: this.#deps.topic, answers: answers.length },
        error,
      );
    } finally {
      for (const answer of answers) answer.done();
    }
  }

  async #attempt(
    push: PushConfig,
    delivery: Parameters<typeof pushRequest>[1],
    now: number,
  ): Promise<PushOutcome> {
    if (push.url !== null) {
      // Checked again at every delivery: the deployment's policy may have changed since the PUT.
      const check = checkPushUrl(push.url, { allowPrivate: this.#deps.allowPrivate });
      if (!check.ok) return { ok: false, status: null, error: `refused: ${check.detail}` };
    }
    const secrets = this.#deps.state.signing(delivery.subscription, now);
    const request = await pushRequest(push, delivery, secrets, now);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), push.timeout);
    try {
      const response = await this.#deps.transport(push, request, controller.signal);
      const outcome = outcomeOf(response, Date.now());
      // The answer's body means nothing to the broker; reading it would only hold the slot longer.
      await response.body?.cancel().catch(() => {});
      return outcome;
    } catch (error) {
      if (controller.signal.aborted)
        return { ok: false, status: null, error: `timed out after ${push.timeout} ms` };
      return {
        ok: false,
        status: null,
        error: `network error: ${(error as Error)?.message ?? String(error)}`,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Acks or nacks each message by its answer, and records the receivers' health, in answer
   * order. One transaction for all of them; the pump that follows leases the freed slots in one
   * round.
   */
  #settle(answers: readonly Answer[]): void {
    const { store, state, changes } = this.#deps;
    const now = Date.now();
    const bySubscription = Map.groupBy(answers, (a) => a.subscription);
    changes.apply(() => {
      if (!store.log.meta) return;
      for (const [name, group] of bySubscription) {
        const subscription = store.subscriptions.get(name);
        if (!subscription) continue;
        const acked = group.filter((a) => a.outcome.ok).map((a) => a.seq);
        if (acked.length > 0) store.delivery.ack(subscription, acked);
        for (const { seq, outcome } of group) {
          if (outcome.ok) {
            state.record(name, now, outcome.status, null);
            continue;
          }
          store.delivery.nack(subscription, [seq], now, outcome.retryAfter);
          const health = state.record(name, now, outcome.status, outcome.error);
          if (outcome.gone) store.subscriptions.configure(subscription, { paused: true });
          this.#pauseAfterFailure(subscription, now, health.consecutiveFailures, outcome.retryAfter);
        }
      }
    });
  }

  /**
   * A failing receiver is given a pause before the next message, as long as the backoff of a
   * message failing that many rounds of `maxInFlight` in a row, or as long as it asked for.
   */
  #pauseAfterFailure(subscription: Subscription, now: number, failures: number, retryAfter?: number): void {
    const push = subscription.config.push;
    if (!push) return;
    const rounds = Math.ceil(failures / push.maxInFlight);
    const pause = retryAfter ?? backoffDelay(rounds, subscription.config.backoff, this.#random);
    const until = now + pause;
    if (until > (this.#pausedUntil.get(subscription.name) ?? 0))
      this.#pausedUntil.set(subscription.name, until);
  }

  /** Tokens available now, or `null` for a subscription without a rate. */
  #refill(name: string, push: PushConfig, now: number): number | null {
    const rate = push.ratePerSecond;
    if (rate === null) {
      this.#tokens.delete(name);
      return null;
    }
    const bucket = this.#tokens.get(name) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) * rate) / 1000);
    bucket.at = now;
    this.#tokens.set(name, bucket);
    return bucket.tokens;
  }

  #spend(name: string, n: number): void {
    const bucket = this.#tokens.get(name);
    if (bucket) bucket.tokens -= n;
  }

  /** Pumps again at `at` (in memory, and through the alarm should the object be evicted first). */
  #schedule(at: number | null | undefined): void {
    if (at === null || at === undefined) {
      if (this.#wakeAt !== null && this.#wakeAt <= Date.now()) this.#wakeAt = null;
      return;
    }
    if (this.#wakeAt !== null && this.#wakeAt <= at && this.#wakeAt > Date.now()) return;
    this.#wakeAt = at;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#wakeAt = null;
        this.#deps.changes.react("sockets");
      },
      Math.max(0, at - Date.now()),
    );
    this.#deps.changes.react("alarm");
  }
}
