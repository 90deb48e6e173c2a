import type { RelayBatch } from "../protocol/edge-rpc";
import type { ErrorCode, Result } from "../protocol/errors";
import type { WireMessage } from "../protocol/message";
import type { ReadResult } from "../protocol/topic-rpc";
import { CLOSE_CODES } from "../protocol/ws-frames";

/** Reads a topic's log after a seq (the topic's `read` RPC). */
export type ReadLog = (topic: string, after: number) => Promise<Result<ReadResult>>;

/** Something fed a topic's messages: a relay's socket, or one live tail of a session. */
export interface Receiver {
  /** The last seq it was sent: its stream continues after it. */
  lastSent: number;
  /** The topic's epoch it follows. */
  epoch: string | null;
}

/** Where an edge object keeps its receivers, and how it writes to them. */
export interface Receivers<R extends Receiver> {
  /** The open receivers of a topic. */
  of(topic: string): R[];
  /**
   * Sends a group of receivers `frame` (a `message`/`messages` frame as the topic serialised it),
   * and records that they now stand at `last`, durably enough to resume there.
   */
  send(topic: string, group: R[], frame: string, last: number): void;
  /** Ends receivers that can go on no longer (their topic deleted or re-created). */
  end(group: R[], closeCode: number, code: ErrorCode, detail: string): void;
}

/** Most rounds of one pump: a receiver far behind catches up a page per round. */
const MAX_ROUNDS = 64;

/** A `message`/`messages` frame, as the topic writes them. */
export const framed = (messages: WireMessage[]): string =>
  JSON.stringify(
    messages.length === 1 ? { type: "message", message: messages[0] } : { type: "messages", messages },
  );

/**
 * An edge object writing a topic's batches to its receivers (DESIGN.md §5, "Relays" and
 * "Sessions" — one mechanism). Receivers at the position a batch starts from get its frame as the
 * topic serialised it; a receiver ahead gets the rest of it; a receiver behind (new with an older
 * `after`, or one that missed a batch while the object was evicted) first reads what it lacks from
 * the topic's log. Positions are the receivers' own and are saved as they move, so a batch sent
 * twice or an object restarted mid-stream neither skips nor repeats a message. One pump per topic
 * runs at a time.
 */
export class FanOut<R extends Receiver> {
  readonly #receivers: Receivers<R>;
  readonly #read: ReadLog;
  /** The newest batch per topic: what the receivers are brought up to. */
  readonly #latest = new Map<string, RelayBatch>();
  readonly #running = new Map<string, Promise<void>>();

  constructor(receivers: Receivers<R>, read: ReadLog) {
    this.#receivers = receivers;
    this.#read = read;
  }

  /** Takes a batch from the topic; answers once every receiver of the topic has it. */
  async deliver(batch: RelayBatch): Promise<void> {
    this.known(batch);
    await this.run(batch.topic);
  }

  /** Remembers the newest position of a topic (a batch, or the head a receiver was admitted at). */
  known(batch: RelayBatch): void {
    const current = this.#latest.get(batch.topic);
    if (!current || batch.last >= current.last) this.#latest.set(batch.topic, batch);
  }

  /** Brings the topic's receivers up to the newest position known, after the pump under way. */
  run(topic: string): Promise<void> {
    const previous = this.#running.get(topic) ?? Promise.resolve();
    const next = previous.then(() => this.#pump(topic));
    const settled = next.catch(() => {});
    this.#running.set(topic, settled);
    void settled.then(() => {
      if (this.#running.get(topic) === settled) this.#running.delete(topic);
    });
    return next;
  }

  async #pump(topic: string): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const batch = this.#latest.get(topic);
      if (!batch) return;
      const groups = new Map<number, R[]>();
      const stale: R[] = [];
      for (const receiver of this.#receivers.of(topic)) {
        if (receiver.lastSent >= batch.last) continue;
        if (receiver.epoch !== batch.epoch) {
          stale.push(receiver);
          continue;
        }
        const group = groups.get(receiver.lastSent) ?? [];
        group.push(receiver);
        groups.set(receiver.lastSent, group);
      }
      if (stale.length > 0) {
        const detail = "the topic was deleted and re-created";
        this.#receivers.end(stale, CLOSE_CODES.EPOCH_CHANGED, "conflict", detail);
      }
      if (groups.size === 0) return;
      let messages: WireMessage[] | undefined;
      for (const [position, group] of groups) {
        if (position >= batch.after && batch.frame !== null) {
          // At the batch's start: its frame as is. Ahead of it: the part it has not had.
          if (position > batch.after) messages ??= parseFrame(batch.frame);
          const frame =
            position === batch.after
              ? batch.frame
              : framed((messages ?? []).filter((message) => message.seq > position));
          this.#receivers.send(topic, group, frame, batch.last);
          continue;
        }
        await this.#catchUp(topic, group, position, batch.epoch);
      }
    }
  }

  /** Sends a group of receivers behind the batch one page of the log after their position. */
  async #catchUp(topic: string, group: R[], position: number, epoch: string): Promise<void> {
    const page = await this.#read(topic, position);
    if (!page.ok) {
      this.#receivers.end(group, CLOSE_CODES.TOPIC_DELETED, "not_found", page.detail);
      return;
    }
    if (page.value.epoch !== epoch) {
      this.#receivers.end(
        group,
        CLOSE_CODES.EPOCH_CHANGED,
        "conflict",
        "the topic was deleted and re-created",
      );
      return;
    }
    const { messages, next } = page.value;
    if (messages.length > 0) this.#receivers.send(topic, group, framed(messages), next);
  }
}

/** The messages of a `message`/`messages` frame. */
export function parseFrame(frame: string): WireMessage[] {
  const parsed = JSON.parse(frame) as { message?: WireMessage; messages?: WireMessage[] };
  return parsed.messages ?? (parsed.message ? [parsed.message] : []);
}
