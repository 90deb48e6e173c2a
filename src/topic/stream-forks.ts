import { fail, ok, type Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import { logLine } from "../protocol/log";
import {
  isJsonStream,
  mediaType,
  type StreamConfig,
  type StreamCreateInput,
  type StreamCreateOutcome,
} from "../protocol/streams";
import type { PublishInput } from "../protocol/topic-rpc";
import { noTopic } from "./failures";
import type { TopicStore } from "./store";
import type { StreamState } from "./stream-state";

/** Most stored bytes a fork copies from its source. */
export const FORK_MAX_BYTES = LIMITS.batchBytes;
/** Most messages a fork copies from its source. */
export const FORK_MAX_MESSAGES = 10 * LIMITS.batchMessages;

/** What a fork asks of its source. */
export interface ForkRequest {
  /** The fork's name, recorded by the source until the fork is gone. */
  fork: string;
  /** After which seq the fork starts; `null` = the source's tail. */
  offset: number | null;
  subOffset: number;
  /** The fork's content type when it names one: it must be the source's. */
  contentType: string | null;
}

/** What the source hands its fork: its config and the messages the fork inherits, by seq. */
export interface ForkExport {
  config: StreamConfig;
  offset: number;
  /** The seq of the first inherited message (the next seq when there is none). */
  startSeq: number;
  messages: PublishInput[];
}

/** Refusals of a fork, in the protocol's terms. */
type ForkRefusal = { kind: "conflict" | "invalid" | "too-large"; detail: string };

/** The source stream's object, as a fork calls it. */
export type ForkSource = (name: string) => {
  streamExport(request: ForkRequest): Promise<Result<ForkExport | ForkRefusal>>;
  streamForkReleased(fork: string): Promise<Result<{ released: boolean }>>;
};

type Write = (
  state: StreamState,
  messages: PublishInput[],
  startSeq: number,
) => Promise<Result<StreamCreateOutcome>>;

/**
 * Forks (`Stream-Forked-From`): a fork is a stream of its own that starts with a copy of its
 * source's messages up to the fork point, under the same seqs, so offsets read from the source
 * mean the same position in the fork. _Decided:_ copied rather than read through, so a fork is
 * an ordinary topic (reads, long-polls, subscriptions, retention) and its source may go; the
 * copy is bounded (FORK_MAX_BYTES, FORK_MAX_MESSAGES). The source keeps the names of its forks:
 * deleted while any exists, it answers 410 and holds its name, and it erases itself once the
 * last fork is gone.
 */
export class StreamForks {
  readonly #name: string;
  readonly #store: TopicStore;
  readonly #source: ForkSource;
  readonly #erase: () => Promise<void>;

  constructor(name: string, store: TopicStore, source: ForkSource, erase: () => Promise<void>) {
    this.#name = name;
    this.#store = store;
    this.#source = source;
    this.#erase = erase;
  }

  /** Creates this topic as a fork of `input.fork.source`. */
  async create(input: StreamCreateInput, write: Write): Promise<Result<StreamCreateOutcome>> {
    const fork = input.fork;
    if (!fork) throw new Error("create a fork with a fork point");
    if (fork.source === this.#name) return ok({ kind: "invalid", detail: "a stream cannot fork itself" });
    const source = this.#source(fork.source);
    const request: ForkRequest = {
      fork: this.#name,
      offset: fork.offset,
      subOffset: fork.subOffset,
      contentType: input.contentType,
    };
    const exported = await source.streamExport(request);
    if (!exported.ok) {
      if (exported.code === "gone") return ok({ kind: "conflict", detail: "the source stream was deleted" });
      return exported;
    }
    const value = exported.value;
    if ("kind" in value) return ok(value);
    const own = input.ttlSeconds !== null || input.expiresAt !== null;
    const now = Date.now();
    const state: StreamState = {
      config: {
        contentType: input.contentType ?? value.config.contentType,
        ttlSeconds: own ? input.ttlSeconds : value.config.ttlSeconds,
        expiresAt: own ? input.expiresAt : value.config.expiresAt,
      },
      closed: input.closed,
      closedBy: null,
      streamSeq: null,
      touchedAt: now,
      forkedFrom: { source: fork.source, offset: value.offset, subOffset: fork.subOffset },
      forks: [],
      deleted: false,
    };
    try {
      const written = await write(state, [...value.messages, ...input.messages], value.startSeq);
      if (!written.ok || written.value.kind !== "ok") await source.streamForkReleased(this.#name);
      return written;
    } catch (error) {
      await source.streamForkReleased(this.#name);
      throw error;
    }
  }

  /**
   * The source's side of a fork: checks the fork point, copies what the fork inherits and
   * records the fork, which from now on keeps this stream's name held if it is deleted.
   */
  export(request: ForkRequest): Result<ForkExport | ForkRefusal> {
    const { log } = this.#store;
    if (!log.meta) return noTopic();
    const state = this.#store.stream.current;
    if (state.deleted) return fail("gone", "the source stream was deleted");
    const { contentType } = state.config;
    if (request.contentType !== null && mediaType(request.contentType) !== mediaType(contentType)) {
      return ok({ kind: "conflict", detail: `the source stream's content type is ${contentType}` });
    }
    const tail = log.counters.nextSeq - 1;
    const offset = request.offset ?? tail;
    if (offset > tail) return ok({ kind: "invalid", detail: "the fork offset is past the source's tail" });
    const json = isJsonStream(contentType);
    const sub = request.subOffset;
    if (sub > 0 && (json ? offset + sub > tail : offset + 1 > tail)) {
      return ok({ kind: "invalid", detail: "Stream-Fork-Sub-Offset is past the source's messages" });
    }
    // JSON: whole messages after the offset; binary: a prefix of the next message's bytes.
    const upTo = json ? offset + sub : offset;
    const copied = this.#copy(upTo);
    if ("kind" in copied) return ok(copied);
    const messages = copied.messages;
    if (!json && sub > 0) {
      const [next] = log.read(offset, 1, Number.MAX_SAFE_INTEGER);
      if (!next || sub > next.body.byteLength) {
        return ok({ kind: "invalid", detail: "Stream-Fork-Sub-Offset is past the next message's bytes" });
      }
      messages.push({
        body: new Uint8Array(next.body).slice(0, sub),
        contentType: next.content_type,
        attributes: next.attributes ? JSON.parse(next.attributes) : {},
      });
    }
    if (!state.forks.includes(request.fork)) {
      this.#store.transaction(() =>
        this.#store.stream.save({ ...state, forks: [...state.forks, request.fork] }),
      );
    }
    return ok({ config: state.config, offset, startSeq: copied.startSeq, messages });
  }

  /** A fork of this stream is gone: once the last one of a deleted stream is, it erases itself. */
  async forkReleased(fork: string): Promise<Result<{ released: boolean }>> {
    if (!this.#store.meta) return ok({ released: false });
    const state = this.#store.stream.current;
    if (!state.forks.includes(fork)) return ok({ released: false });
    const forks = state.forks.filter((name) => name !== fork);
    this.#store.transaction(() => this.#store.stream.save({ ...state, forks }));
    if (state.deleted && forks.length === 0) await this.#erase();
    return ok({ released: true });
  }

  /** This stream, a fork, is gone: its source may let go of it. */
  async released(source: string): Promise<void> {
    try {
      await this.#source(source).streamForkReleased(this.#name);
    } catch (error) {
      // The source keeps a stale name: it stays soft-deleted instead of erasing itself.
      logLine("error", "telling a stream's source it is gone failed", { topic: this.#name, source }, error);
    }
  }

  /** The messages with seq <= `upTo`, bounded; their first seq. */
  #copy(upTo: number): { messages: PublishInput[]; startSeq: number } | ForkRefusal {
    const { log } = this.#store;
    const first = log.firstSeq();
    const startSeq = first !== null && first <= upTo ? first : upTo + 1;
    const messages: PublishInput[] = [];
    let bytes = 0;
    let after = startSeq - 1;
    while (after < upTo) {
      const page = log.read(after, LIMITS.readLimit, LIMITS.pageBytes).filter((row) => row.seq <= upTo);
      if (page.length === 0) break;
      for (const row of page) {
        bytes += row.body.byteLength;
        if (bytes > FORK_MAX_BYTES || messages.length >= FORK_MAX_MESSAGES) {
          return {
            kind: "too-large",
            detail: `a fork copies at most ${FORK_MAX_MESSAGES} messages and ${FORK_MAX_BYTES} bytes of its source`,
          };
        }
        const message: PublishInput = {
          body: new Uint8Array(row.body),
          contentType: row.content_type,
          attributes: row.attributes ? JSON.parse(row.attributes) : {},
        };
        if (row.key !== null) message.key = row.key;
        messages.push(message);
        after = row.seq;
      }
    }
    return { messages, startSeq };
  }
}
