import type { Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import { logLine } from "../protocol/log";
import type { PublishInput, PublishOptions, PublishReceipt, RouteConfig } from "../protocol/topic-rpc";
import { backoffDelay } from "./backoff";
import type { TopicMeta } from "./log";
import { deadLetterCopy, type Prepared, prepareCopy } from "./route-copies";
import type { RouteRow } from "./route-state";
import type { TopicStore } from "./store";

/** Publishes a batch to another topic (through its object). */
export type PublishTo = (
  topic: string,
  messages: PublishInput[],
  options?: PublishOptions,
) => Promise<Result<PublishReceipt[]>>;

/** Most messages a route reads and forwards per request to its target. */
const BATCH = 100;
/** Most batches one route forwards per alarm run; the alarm comes back at once for more. */
const ROUNDS = 10;

type Failure = { seq: number; code: string; detail: string };

/**
 * Forwarding of routes (DESIGN.md §3, "Routes"), driven by the alarm like dead-letter copies:
 * each route reads from its cursor, makes its copies (./route-copies.ts), publishes them to its
 * target outside any transaction, and moves its cursor only after the target acknowledged them,
 * so a crash in between sends the same copies again, which the target stores once (idempotency
 * keys). Routes go side by side: one whose target refuses holds back no other. A refusal or a
 * failed transform is tried again after a backoff, the message alone, until `maxAttempts`; then
 * the message goes to the route's dead-letter topic, or is counted as `failed`, and the route
 * goes on. Publishing to the topic meanwhile never waits for any of it.
 */
export class RouteForwarding {
  readonly #store: TopicStore;
  readonly #publishTo: PublishTo;
  readonly #random: () => number;
  /** Routes with a forward in flight: an alarm run that overlaps another leaves them alone. */
  readonly #busy = new Set<string>();
  /** Routes whose last batch was refused: they go a message at a time, to find the one refused. */
  readonly #alone = new Set<string>();

  constructor(store: TopicStore, publishTo: PublishTo, random: () => number = Math.random) {
    this.#store = store;
    this.#publishTo = publishTo;
    this.#random = random;
  }

  /** Forwards what every route has waiting; resolves once each has done a bounded share. */
  async run(now: number): Promise<void> {
    const meta = this.#store.meta;
    if (!meta) return;
    await Promise.all(meta.config.routes.map((route) => this.#forward(meta, route, now)));
  }

  async #forward(meta: TopicMeta, route: RouteConfig, now: number): Promise<void> {
    if (this.#busy.has(route.name)) return;
    this.#busy.add(route.name);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        if (!(await this.#round(meta, route, now))) return;
      }
    } catch (error) {
      logLine("error", "route failed to forward", { topic: meta.name, route: route.name }, error);
    } finally {
      this.#busy.delete(route.name);
    }
  }

  /** One batch; true when the route may go on at once. */
  async #round(meta: TopicMeta, route: RouteConfig, now: number): Promise<boolean> {
    const { log, routes } = this.#store;
    const row = routes.get(route.name);
    if (!row || !this.#current(meta, route, row)) return false;
    const nextSeq = log.counters.nextSeq;
    if (row.cursor >= nextSeq || row.retryAt > now) return false;
    const start = row.cursor;
    // A message that failed goes alone, so that a refusal is pinned on it and no other.
    const alone = row.attempts > 0 || this.#alone.has(route.name);
    const rows = log.read(start - 1, alone ? 1 : BATCH, LIMITS.pageBytes);
    if (rows.length === 0) {
      // Retention deleted everything left (drop-oldest): nothing to forward.
      this.#store.transaction(() => {
        row.cursor = nextSeq;
        routes.save(row);
      });
      return false;
    }
    const prepared: Prepared[] = [];
    for (const message of rows) {
      const one = await prepareCopy(meta, route, message, now);
      prepared.push(one);
      if (one.kind === "error") break;
    }
    let failure: Failure | null = null;
    const copies = prepared.filter((p) => p.kind === "copy");
    if (copies.length > 0) {
      const batch = copies.map((c) => c.copy);
      const sent = await send(this.#publishTo, route.to, batch, { ifExists: true });
      if (!sent.ok && copies.length > 1) {
        // A batch is refused whole: which message the target refuses is found by sending them
        // one at a time, at once; only a message refused alone counts an attempt.
        this.#alone.add(route.name);
        return true;
      }
      if (!sent.ok) failure = { seq: (copies[0] as Prepared).seq, code: sent.code, detail: sent.detail };
      else this.#alone.delete(route.name);
    }
    const failed = prepared.find((p) => p.kind === "error");
    if (failure === null && failed?.kind === "error") {
      failure = { seq: failed.seq, code: failed.code, detail: failed.detail };
    }
    if (!this.#current(meta, route, row) || row.cursor !== start) return false;
    this.#store.transaction(() => {
      for (const p of prepared) {
        if (failure !== null && p.seq >= failure.seq) break;
        if (p.kind === "copy") row.counters.forwarded++;
        else if (p.kind === "skip") row.counters[p.reason]++;
        row.cursor = p.seq + 1;
      }
      if (failure === null) {
        row.attempts = 0;
        row.retryAt = 0;
      } else {
        row.cursor = failure.seq;
        row.attempts++;
        row.lastError = { at: now, seq: failure.seq, code: failure.code, detail: failure.detail };
        row.retryAt = now + backoffDelay(row.attempts, route.backoff, this.#random);
      }
      routes.save(row);
    });
    if (failure === null) return true;
    if (row.attempts < route.maxAttempts) return false;
    return this.#giveUp(meta, route, row, failure, now);
  }

  /**
   * The message at the cursor ran out of attempts: it goes to the dead-letter topic (or is
   * counted as failed) and the route moves past it. True when the route may go on at once.
   */
  async #giveUp(
    meta: TopicMeta,
    route: RouteConfig,
    row: RouteRow,
    failure: Failure,
    now: number,
  ): Promise<boolean> {
    const { log, routes } = this.#store;
    const message = log.get([failure.seq]).get(failure.seq);
    let deadLettered = false;
    if (message && route.deadLetterTopic !== null) {
      const reason = `${failure.code}: ${failure.detail}`;
      const sent = await send(this.#publishTo, route.deadLetterTopic, [
        deadLetterCopy(meta, route, message, reason),
      ]);
      if (!this.#current(meta, route, row) || row.cursor !== failure.seq) return false;
      if (!sent.ok) {
        // The dead-letter topic refuses too: keep the message and try both again later.
        this.#store.transaction(() => {
          row.lastError = {
            at: now,
            seq: failure.seq,
            code: sent.code,
            detail: `dead-letter topic: ${sent.detail}`,
          };
          row.retryAt = now + backoffDelay(row.attempts, route.backoff, this.#random);
          routes.save(row);
        });
        return false;
      }
      deadLettered = true;
    }
    this.#store.transaction(() => {
      if (deadLettered) row.counters.deadLettered++;
      else row.counters.failed++;
      row.cursor = failure.seq + 1;
      row.attempts = 0;
      row.retryAt = 0;
      routes.save(row);
    });
    return true;
  }

  /** Whether the topic, the route's config and its row are still those the work started with. */
  #current(meta: TopicMeta, route: RouteConfig, row: RouteRow): boolean {
    const now = this.#store.meta;
    return (
      now !== null &&
      now.epoch === meta.epoch &&
      now.config.routes.includes(route) &&
      this.#store.routes.get(route.name) === row
    );
  }
}

async function send(
  publishTo: PublishTo,
  target: string,
  copies: PublishInput[],
  options?: PublishOptions,
): Promise<{ ok: true } | { ok: false; code: string; detail: string }> {
  try {
    const result = await publishTo(target, copies, options);
    if (result.ok) return { ok: true };
    return { ok: false, code: result.code, detail: result.detail };
  } catch (error) {
    return { ok: false, code: "internal", detail: error instanceof Error ? error.message : String(error) };
  }
}
