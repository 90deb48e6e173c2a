import { fail, ok, type Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import {
  mediaType,
  type StreamAppendInput,
  type StreamAppendOutcome,
  type StreamConfig,
  type StreamCreateInput,
  type StreamCreateOutcome,
  type StreamHead,
  type StreamPage,
  type StreamReadInput,
} from "../protocol/streams";
import type { Changes } from "./changes";
import { noTopic, tooManyPolls } from "./failures";
import type { LongPolls } from "./long-polls";
import type { Registration } from "./registration";
import type { TopicStore } from "./store";
import { appendMessages, appendToStream, positionOf } from "./stream-append";
import { type ForkSource, StreamForks } from "./stream-forks";
import type { StreamState } from "./stream-state";
import { READS } from "./waiters";

const gone = () => fail("gone", "the stream was deleted; its forks still read what they inherited");

/** Whether two configs are the same stream config (media types compared without case or parameters). */
function sameConfig(a: StreamConfig, b: StreamConfig): boolean {
  return (
    mediaType(a.contentType) === mediaType(b.contentType) &&
    a.ttlSeconds === b.ttlSeconds &&
    a.expiresAt === b.expiresAt
  );
}

/**
 * The topic as a Durable Stream (DESIGN.md §9): create with a config, append with the
 * protocol's checks (./stream-append.ts), read by offset with long-polls, close, delete, expire,
 * and forks (./stream-forks.ts). Offsets are seqs; the log, retention and subscriptions are the
 * topic's own, so a stream is also a topic to the native API and the other way round.
 */
export class Streams {
  readonly #name: string;
  readonly #store: TopicStore;
  readonly #changes: Changes;
  readonly #polls: LongPolls;
  readonly #registration: Registration;
  readonly #destroy: () => Promise<Result<{ deleted: true }>>;
  readonly forks: StreamForks;

  constructor(deps: {
    name: string;
    store: TopicStore;
    changes: Changes;
    polls: LongPolls;
    registration: Registration;
    destroy: () => Promise<Result<{ deleted: true }>>;
    source: ForkSource;
  }) {
    this.#name = deps.name;
    this.#store = deps.store;
    this.#changes = deps.changes;
    this.#polls = deps.polls;
    this.#registration = deps.registration;
    this.#destroy = deps.destroy;
    this.forks = new StreamForks(deps.name, deps.store, deps.source, () => this.#erase());
  }

  async create(input: StreamCreateInput): Promise<Result<StreamCreateOutcome>> {
    const live = await this.#live(Date.now(), { create: true });
    if (!live.ok) return live;
    const existing = live.value;
    if (existing !== null) return ok(this.#recreate(existing, input));
    if (input.fork)
      return this.forks.create(input, (state, messages, start) => this.#write(state, messages, start));
    const now = Date.now();
    const config: StreamConfig = {
      contentType: input.contentType ?? "application/octet-stream",
      ttlSeconds: input.ttlSeconds,
      expiresAt: input.expiresAt,
    };
    const state: StreamState = {
      config,
      closed: input.closed,
      closedBy: null,
      streamSeq: null,
      touchedAt: now,
      forkedFrom: null,
      forks: [],
      deleted: false,
    };
    return this.#write(state, input.messages);
  }

  async append(input: StreamAppendInput): Promise<Result<StreamAppendOutcome>> {
    const now = Date.now();
    const live = await this.#live(now, { create: input.createTopic === true });
    if (!live.ok) return live;
    const created = live.value === null;
    const outcome = this.#changes.apply(() => {
      if (created) this.#store.ensure(this.#name, now);
      return appendToStream(this.#store, input, now);
    });
    if (created) await this.#registration.register();
    // A close wakes readers parked at the tail, which learn of it although the log did not grow.
    if (outcome.kind === "appended" && outcome.closed) this.#polls.waiters.wakeAll(READS);
    return ok(outcome);
  }

  /** Messages after an offset, long-polling while there are none and the stream is open. */
  async read(input: StreamReadInput): Promise<Result<StreamPage>> {
    const live = await this.#live(Date.now());
    if (!live.ok) return live;
    const { log } = this.#store;
    const tail = log.counters.nextSeq - 1;
    const after = input.after === "now" ? tail : input.after;
    if (after > tail) return fail("invalid_request", "the offset is past the stream's tail");
    const first = log.firstSeq() ?? log.counters.nextSeq;
    if (after < first - 1) return fail("gone", "the offset is before the oldest message the stream keeps");
    const rows = await this.#polls.waiters.waitFor(READS, input.wait, () => {
      if (!log.meta) return [];
      const found = log.read(after, LIMITS.readLimit, LIMITS.pageBytes);
      return found.length || this.#store.stream.current.closed ? found : null;
    });
    if (rows === "full") return tooManyPolls(this.#polls.limit);
    const meta = log.meta;
    if (!meta || this.#store.stream.current.deleted) return noTopic();
    // A read renews a sliding TTL, which moves the alarm; a stream without one writes nothing.
    if (this.#store.stream.current.config.ttlSeconds !== null) {
      const now = Date.now();
      this.#changes.apply(() => this.#store.stream.touch(now), "alarm");
    }
    const messages = (rows ?? []).map((row) => ({ seq: row.seq, body: new Uint8Array(row.body) }));
    const state = this.#store.stream.current;
    return ok({
      messages,
      next: messages.at(-1)?.seq ?? after,
      ...positionOf(this.#store),
      contentType: state.config.contentType,
      epoch: meta.epoch,
      config: state.config,
    });
  }

  /** The stream's metadata; unlike a read, it does not renew a sliding TTL. */
  async head(): Promise<Result<StreamHead>> {
    const live = await this.#live(Date.now());
    if (!live.ok) return live;
    const meta = this.#store.meta;
    if (!meta) return noTopic();
    return ok({ ...positionOf(this.#store), config: this.#store.stream.current.config, epoch: meta.epoch });
  }

  /** Deletes the stream, or only marks it deleted (410) while forks hold what they inherited. */
  async delete(): Promise<Result<{ deleted: true }>> {
    const live = await this.#live(Date.now());
    if (!live.ok) return live;
    const state = this.#store.stream.current;
    if (state.forks.length > 0) {
      this.#changes.apply(() => this.#store.stream.save({ ...state, deleted: true }));
      this.#polls.wakeAll();
      return ok({ deleted: true });
    }
    await this.#erase();
    return ok({ deleted: true });
  }

  /**
   * A delete through the native API (`DELETE /v1/topics/{topic}`): always the whole topic, and a
   * fork tells its source it is gone, as a stream's delete does.
   */
  async destroyTopic(): Promise<Result<{ deleted: true }>> {
    const from = this.#store.stream.current.forkedFrom;
    const result = (await this.#destroy()) as Result<{ deleted: true }>;
    if (result.ok && from) await this.forks.released(from.source);
    return result;
  }

  /**
   * Deletes the stream if its TTL or expiry has passed (run by the alarm and before each call):
   * a stream with forks goes soft-deleted instead. Answers whether the stream is gone.
   */
  async expireIfDue(now: number): Promise<boolean> {
    const at = this.#store.stream.expiresAt();
    if (at === null || at > now || !this.#store.meta) return false;
    const state = this.#store.stream.current;
    if (state.forks.length > 0) {
      this.#changes.apply(() => this.#store.stream.save({ ...state, deleted: true }));
      this.#polls.wakeAll();
    } else await this.#erase();
    return true;
  }

  /**
   * The stream as it stands before a call: `null` when it does not exist (a create may make
   * it), a failure when it is gone or expired.
   */
  async #live(now: number, options: { create?: boolean } = {}): Promise<Result<StreamState | null>> {
    await this.expireIfDue(now);
    if (!this.#store.meta) return options.create ? ok(null) : noTopic();
    const state = this.#store.stream.current;
    if (state.deleted) {
      return options.create
        ? fail("conflict", "a deleted stream's name is held while forks of it exist")
        : gone();
    }
    return ok(state);
  }

  /** A create of an existing stream: 200 when it asks for the same stream, 409 otherwise. */
  #recreate(state: StreamState, input: StreamCreateInput): StreamCreateOutcome {
    const wanted: StreamConfig = {
      contentType: input.contentType ?? state.config.contentType,
      ttlSeconds: input.ttlSeconds ?? (input.fork ? state.config.ttlSeconds : null),
      expiresAt: input.expiresAt ?? (input.fork ? state.config.expiresAt : null),
    };
    const from = state.forkedFrom;
    const sameFork = input.fork
      ? from !== null &&
        from.source === input.fork.source &&
        (input.fork.offset === null || from.offset === input.fork.offset) &&
        from.subOffset === input.fork.subOffset
      : from === null;
    if (!sameConfig(state.config, wanted) || !sameFork || (input.closed && !state.closed)) {
      return { kind: "conflict", detail: "the stream exists with another configuration" };
    }
    return { kind: "ok", created: false, config: state.config, ...positionOf(this.#store) };
  }

  /**
   * Creates the topic as a stream with its first messages, in one transaction; a fork's
   * inherited messages keep their seqs (`startSeq` is the first of them).
   */
  async #write(
    state: StreamState,
    messages: StreamCreateInput["messages"],
    startSeq = 1,
  ): Promise<Result<StreamCreateOutcome>> {
    const now = Date.now();
    try {
      this.#changes.apply(() => {
        this.#store.ensure(this.#name, now);
        this.#store.log.counters.nextSeq = startSeq;
        const result = appendMessages(this.#store, messages, now);
        if ("code" in result) throw new RefusedCreate(result.detail);
        this.#store.stream.save({ ...state, touchedAt: now });
      });
    } catch (error) {
      if (error instanceof RefusedCreate) return ok({ kind: "too-large", detail: error.message });
      throw error;
    }
    await this.#registration.register();
    return ok({ kind: "ok", created: true, config: state.config, ...positionOf(this.#store) });
  }

  async #erase(): Promise<void> {
    const from = this.#store.stream.current.forkedFrom;
    await this.#destroy();
    if (from) await this.forks.released(from.source);
  }
}

/** A create whose initial messages the topic refused: thrown so that its transaction rolls back. */
class RefusedCreate extends Error {}
