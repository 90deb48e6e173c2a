import type { RelayBatch } from "../protocol/edge-rpc";
import type { Result } from "../protocol/errors";
import type { WireMessage } from "../protocol/message";
import type { ReadResult } from "../protocol/topic-rpc";
import { CLOSE_CODES } from "../protocol/ws-frames";
import type { HeldSocket, HeldSockets } from "./held-sockets";

/** Reads a topic's log after a seq (the topic's `read` RPC). */
export type ReadLog = (topic: string, after: number) => Promise<Result<ReadResult>>;

/** Most rounds of one pump: a socket far behind catches up a page per round. */
const MAX_ROUNDS = 64;

const framed = (messages: WireMessage[]): string =>
  JSON.stringify(
    messages.length === 1 ? { type: "message", message: messages[0] } : { type: "messages", messages },
  );

/**
 * A relay writing a topic's batches to its sockets (DESIGN.md §5, "Relays"). Sockets at the
 * position a batch starts from get its frame as the topic serialised it; a socket ahead gets the
 * rest of it; a socket behind (new with an older `after`, or one that missed a batch while the
 * relay was evicted) first reads what it lacks from the topic's log. Positions are the sockets'
 * own, saved in their attachments before the next batch, so a batch sent twice or a relay
 * restarted mid-stream neither skips nor repeats a message. One pump per topic at a time.
 */
export class FanOut {
  readonly #sockets: HeldSockets;
  readonly #read: ReadLog;
  /** The newest batch per topic: what the sockets are brought up to. */
  readonly #latest = new Map<string, RelayBatch>();
  readonly #running = new Map<string, Promise<void>>();

  constructor(sockets: HeldSockets, read: ReadLog) {
    this.#sockets = sockets;
    this.#read = read;
  }

  /** Takes a batch from the topic; answers once every socket of the topic has it. */
  async deliver(batch: RelayBatch): Promise<void> {
    this.known(batch);
    await this.run(batch.topic);
  }

  /** Remembers the newest position of a topic (a batch, or the head a new socket was admitted at). */
  known(batch: RelayBatch): void {
    const current = this.#latest.get(batch.topic);
    if (!current || batch.last >= current.last) this.#latest.set(batch.topic, batch);
  }

  /** Brings the topic's sockets up to the newest position known; runs after the pump under way. */
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
      const groups = new Map<number, { ws: WebSocket; state: HeldSocket }[]>();
      for (const ws of this.#sockets.of(topic)) {
        const state = this.#sockets.state(ws);
        if (!state || ws.readyState !== WebSocket.OPEN || state.lastSent >= batch.last) continue;
        if (state.epoch !== batch.epoch) {
          this.#sockets.refuse(
            ws,
            CLOSE_CODES.EPOCH_CHANGED,
            "conflict",
            "the topic was deleted and re-created",
          );
          continue;
        }
        const group = groups.get(state.lastSent) ?? [];
        group.push({ ws, state });
        groups.set(state.lastSent, group);
      }
      if (groups.size === 0) return;
      let messages: WireMessage[] | undefined;
      for (const [position, group] of groups) {
        if (position >= batch.after && batch.frame !== null) {
          // At the batch's start: its frame as is. Ahead of it: the part it has not had.
          if (position > batch.after) messages ??= parseFrame(batch.frame);
          const text =
            position === batch.after
              ? batch.frame
              : framed((messages ?? []).filter((message) => message.seq > position));
          this.#send(group, text, batch.last);
          continue;
        }
        await this.#catchUp(topic, group, position, batch.epoch);
      }
    }
  }

  /** Sends a group of sockets behind the batch one page of the log after their position. */
  async #catchUp(
    topic: string,
    group: { ws: WebSocket; state: HeldSocket }[],
    position: number,
    epoch: string,
  ): Promise<void> {
    const page = await this.#read(topic, position);
    if (!page.ok) {
      for (const { ws } of group)
        this.#sockets.refuse(ws, CLOSE_CODES.TOPIC_DELETED, "not_found", page.detail);
      return;
    }
    if (page.value.epoch !== epoch) {
      const detail = "the topic was deleted and re-created";
      for (const { ws } of group) this.#sockets.refuse(ws, CLOSE_CODES.EPOCH_CHANGED, "conflict", detail);
      return;
    }
    const { messages, next } = page.value;
    if (messages.length === 0) return;
    this.#send(group, framed(messages), next);
  }

  #send(group: { ws: WebSocket; state: HeldSocket }[], text: string, last: number): void {
    for (const { ws, state } of group) {
      this.#sockets.send(ws, text);
      state.lastSent = last;
      this.#sockets.save(ws, state);
    }
  }
}

function parseFrame(frame: string): WireMessage[] {
  const parsed = JSON.parse(frame) as { message?: WireMessage; messages?: WireMessage[] };
  return parsed.messages ?? (parsed.message ? [parsed.message] : []);
}
