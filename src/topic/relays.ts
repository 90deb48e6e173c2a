import {
  type Following,
  NO_HINT,
  parseRelayName,
  type RelayBatch,
  relayName,
  relayUpgradeRequest,
} from "../protocol/edge-rpc";
import { LIMITS } from "../protocol/limits";
import { logLine } from "../protocol/log";
import { isLocationHint } from "../protocol/placement";
import { toWire } from "./message-rows";
import { messagesFrame, TAIL_PAGE } from "./push";
import type { TopicStore } from "./store";
import type { UpgradeOptions } from "./upgrade";

/** What bounds the topic's relays (DESIGN.md §6). */
export interface RelayLimits {
  /** Live sockets the topic holds itself before new tails go to relays; also most per relay. */
  perRelay: number;
  /** Most relays one topic feeds. */
  maxRelays: number;
}

/** Where the topic stands with one relay: what it sent it last, and whether a batch is under way. */
interface Feed {
  lastSent: number;
  busy: boolean;
  /** Send an empty batch first: the topic restarted and does not know what the relay has. */
  sync: boolean;
  failures: number;
  retryAt: number;
}

/** Longest wait before a failed batch is sent to a relay again, ms. */
const MAX_RETRY_MS = 30_000;

/**
 * The topic's relays (DESIGN.md §5, "Relays"): once the topic holds `perRelay` live sockets, new
 * live tails are handed to relay objects placed near their clients, and the topic sends each
 * batch once per relay instead of once per socket. Admission stays here, so the topic counts every
 * socket of its audience (./relay-rows.ts). A relay is fed by RPC, one batch in flight at a time;
 * it resumes from the log by seq, so a failed or repeated batch loses and doubles nothing.
 */
export class Relays {
  readonly #topic: string;
  readonly #store: TopicStore;
  readonly #edges: Env["EDGE"];
  readonly limits: RelayLimits;
  readonly #feeds = new Map<string, Feed>();
  /** Admissions under way per relay: its count is not taken at its word meanwhile. */
  readonly #admitting = new Map<string, number>();
  #loaded = false;
  #scheduled = false;

  constructor(topic: string, store: TopicStore, edges: Env["EDGE"], limits: RelayLimits) {
    this.#topic = topic;
    this.#store = store;
    this.#edges = edges;
    this.limits = limits;
  }

  /** How many relays hold sockets of the topic (sessions that follow it are not relays). */
  get count(): number {
    let n = 0;
    for (const name of this.#store.relays.all.keys()) if (parseRelayName(name)) n++;
    return n;
  }

  /** Sockets the topic's relays hold. */
  get sockets(): number {
    let n = 0;
    for (const relay of this.#store.relays.all.values()) if (parseRelayName(relay.name)) n += relay.sockets;
    return n;
  }

  /** Whether an edge object already follows the topic. */
  follows(edge: string): boolean {
    return this.#store.relays.all.has(edge);
  }

  /**
   * A session follows the topic's log: counted as one socket of its client, fed like a relay.
   * A topic that does not exist is not followed (it writes nothing): `epoch: null`, and the
   * session learns of its creation from the Registry.
   */
  follow(edge: string, subject: string | undefined, privileged: boolean): Following {
    const meta = this.#store.meta;
    if (!meta) return { epoch: null, head: 0 };
    if (!this.follows(edge)) {
      this.#store.transaction(() => this.#store.relays.add(edge, subject, privileged, 1));
    }
    if (!this.#feeds.has(edge)) this.#feeds.set(edge, this.#fresh(this.#head()));
    return { epoch: meta.epoch, head: this.#head() };
  }

  /** A session no longer follows the topic. */
  unfollow(edge: string): void {
    this.#feeds.delete(edge);
    if (this.#store.meta && this.follows(edge)) {
      this.#store.transaction(() => this.#store.relays.replace(edge, []));
    }
  }

  /**
   * The relay a new live tail goes to: the fullest one near the client with room, or a new one
   * there; `null` when the topic feeds `maxRelays` already and none near the client has room.
   */
  choose(hint: string | undefined): string | null {
    const place = hint !== undefined && isLocationHint(hint) ? hint : NO_HINT;
    let best: { name: string; sockets: number } | null = null;
    let next = 0;
    for (const relay of this.#store.relays.all.values()) {
      const parsed = parseRelayName(relay.name);
      if (parsed?.hint !== place) continue;
      next = Math.max(next, parsed.index + 1);
      if (relay.sockets < this.limits.perRelay && (best === null || relay.sockets > best.sockets))
        best = relay;
    }
    if (best) return best.name;
    if (this.count >= this.limits.maxRelays) return null;
    return relayName(this.#topic, place, next);
  }

  /**
   * Counts the socket against `relay` and hands the upgrade to it, placed by `hint`. The count is
   * written first, so two sockets admitted at once cannot both take the last place.
   */
  async admit(relay: string, request: Request, options: UpgradeOptions, after: number): Promise<Response> {
    const meta = this.#store.meta;
    if (!meta) throw new Error("relays serve topics that exist");
    const privileged = options.privileged === true;
    this.#store.transaction(() => this.#store.relays.add(relay, options.subject, privileged, 1));
    if (!this.#feeds.has(relay)) this.#feeds.set(relay, this.#fresh(this.#head()));
    const hint = parseRelayName(relay)?.hint;
    const stub = this.#edges.get(
      this.#edges.idFromName(relay),
      hint !== undefined && isLocationHint(hint) ? { locationHint: hint } : undefined,
    );
    this.#admitting.set(relay, (this.#admitting.get(relay) ?? 0) + 1);
    try {
      return await stub.fetch(
        relayUpgradeRequest(request, {
          topic: this.#topic,
          epoch: meta.epoch,
          after,
          head: this.#head(),
          canPublish: options.canPublish,
          ...(options.expiresAt !== undefined && { expiresAt: options.expiresAt }),
          ...(options.subject !== undefined && { subject: options.subject }),
          ...(privileged && { privileged }),
        }),
      );
    } catch (error) {
      this.#store.transaction(() => this.#store.relays.add(relay, options.subject, privileged, -1));
      throw error;
    } finally {
      const n = (this.#admitting.get(relay) ?? 1) - 1;
      if (n > 0) this.#admitting.set(relay, n);
      else this.#admitting.delete(relay);
    }
  }

  /** A relay's socket closed. */
  left(relay: string, subject: string | null, privileged: boolean): void {
    if (!this.#store.meta) return;
    this.#store.transaction(() => this.#store.relays.add(relay, subject ?? undefined, privileged, -1));
  }

  /**
   * Sends each relay what the log has after what it was last sent: relays at the same position
   * share one read and one serialised frame.
   */
  feed(): void {
    const meta = this.#store.meta;
    if (!meta || this.#store.relays.all.size === 0) return;
    const head = this.#head();
    this.#load(head);
    const now = Date.now();
    const groups = new Map<number, string[]>();
    for (const [name, feed] of this.#feeds) {
      if (!this.#store.relays.all.has(name)) {
        this.#feeds.delete(name); // it holds no socket of the topic any more
        continue;
      }
      if (feed.busy || feed.retryAt > now || (feed.lastSent >= head && !feed.sync)) continue;
      const group = groups.get(feed.lastSent) ?? [];
      group.push(name);
      groups.set(feed.lastSent, group);
    }
    const { log } = this.#store;
    for (const [after, names] of groups) {
      const rows = after >= head ? [] : log.read(after, TAIL_PAGE, LIMITS.pushFrameBytes);
      const last = rows.at(-1)?.seq ?? after;
      const frame = rows.length === 0 ? null : JSON.stringify(messagesFrame(rows.map(toWire)));
      const batch: RelayBatch = { topic: this.#topic, epoch: meta.epoch, after, last, frame };
      for (const name of names) this.#send(name, batch);
    }
  }

  /** The topic was deleted: each relay closes its sockets of it, and each session its tails (4000). */
  async closeTopic(also: string[] = []): Promise<void> {
    const names = [...new Set([...this.#store.relays.all.keys(), ...also])];
    this.#feeds.clear();
    await Promise.allSettled(names.map((name) => this.#edges.getByName(name).closeTopic(this.#topic)));
  }

  #send(name: string, batch: RelayBatch): void {
    const feed = this.#feeds.get(name) as Feed;
    feed.busy = true;
    feed.sync = false;
    this.#edges
      .getByName(name)
      .deliver(batch)
      .then(
        async ({ sockets }) => {
          feed.busy = false;
          feed.failures = 0;
          feed.lastSent = Math.max(feed.lastSent, batch.last);
          const counted = this.#store.relays.all.get(name)?.sockets ?? 0;
          if (sockets !== counted && !this.#admitting.has(name)) await this.#recount(name);
          this.#again(0);
        },
        (error: unknown) => {
          feed.busy = false;
          feed.failures++;
          const delay = Math.min(MAX_RETRY_MS, 250 * 2 ** feed.failures);
          feed.retryAt = Date.now() + delay;
          logLine("warn", "relay missed a batch", { topic: this.#topic, relay: name, retryMs: delay }, error);
          this.#again(delay);
        },
      );
  }

  /** A relay holds another count than the topic thinks (a restart closed sockets): take its word. */
  async #recount(name: string): Promise<void> {
    try {
      const rows = await this.#edges.getByName(name).audience(this.#topic);
      if (this.#store.meta) this.#store.transaction(() => this.#store.relays.replace(name, rows));
    } catch (error) {
      logLine("warn", "relay could not be recounted", { topic: this.#topic, relay: name }, error);
    }
  }

  #again(delay: number): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.feed();
    }, delay);
  }

  /** After a restart the topic knows its relays (SQLite), not what each was sent: it asks. */
  #load(head: number): void {
    if (this.#loaded) return;
    this.#loaded = true;
    for (const name of this.#store.relays.all.keys()) {
      if (!this.#feeds.has(name)) this.#feeds.set(name, { ...this.#fresh(head), sync: true });
    }
  }

  #fresh(head: number): Feed {
    return { lastSent: head, busy: false, sync: false, failures: 0, retryAt: 0 };
  }

  #head(): number {
    return this.#store.log.counters.nextSeq - 1;
  }
}
