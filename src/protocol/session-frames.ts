/**
 * The frames of a session (`GET /v1/ws`, subprotocol `edge-broker.v1`): one connection that
 * carries many subscriptions, live tails and consumers, each named by an `id` the client picks
 * (DESIGN.md §5, "Sessions"). Plain types and constants, no runtime dependency, shared with the
 * client SDK; the zod schemas that validate them are in `./session-schemas.ts`.
 */
import type { ErrorCode } from "./errors.js";
import type { WireMessage } from "./message.js";
import type { AckFrame, Duration, ExtendFrame, FlowFrame, NackFrame, PingFrame } from "./ws-frames.js";

/** Most subscriptions one session carries unless the deployment says otherwise. */
export const DEFAULT_MAX_SUBSCRIPTIONS = 128;

/** Most topics one prefix pattern follows at once. */
export const MAX_TOPICS_PER_PATTERN = 128;

// ---------------------------------------------------------------------------------------
// client → server

/**
 * A live tail of a topic, or of every topic a prefix pattern (`chat.room-*`) matches now and
 * later. `after` resumes a tail after a seq (with `epoch`, refused when the topic was re-created);
 * a pattern resumes each topic it followed from `positions`.
 */
export interface SubscribeTailFrame {
  type: "subscribe";
  id: string;
  topic: string;
  after?: number;
  epoch?: string;
  positions?: Record<string, number>;
}

/** A consumer of a subscription: messages pushed within `maxInFlight`, settled with its acks. */
export interface SubscribeConsumerFrame {
  type: "subscribe";
  id: string;
  topic: string;
  subscription: string;
  maxInFlight?: number;
}

export interface UnsubscribeFrame {
  type: "unsubscribe";
  id: string;
}

/** Settlements and credit name their topic and subscription; `id` asks for an `ok`. */
type Named<F> = Omit<F, "type"> & { topic: string; subscription: string };

export type SessionClientFrame =
  | SubscribeTailFrame
  | SubscribeConsumerFrame
  | UnsubscribeFrame
  | (Named<AckFrame> & { type: "ack" })
  | (Named<NackFrame> & { type: "nack"; delay?: Duration })
  | (Named<ExtendFrame> & { type: "extend"; ackTimeout?: Duration })
  | (Named<FlowFrame> & { type: "flow" })
  | PingFrame;

// ---------------------------------------------------------------------------------------
// server → client (besides `hello`, `ok`, `error` and `pong` of ./ws-frames.ts)

/**
 * A subscription is live. For a live tail: the topic's `epoch` and where it continues (`after`);
 * `epoch: null` while the topic does not exist yet, and then `subscribed` again, with the epoch,
 * before the topic's first message. A pattern's `subscribed` names the pattern; each message
 * names its topic.
 */
export interface SubscribedFrame {
  type: "subscribed";
  id: string;
  topic: string;
  subscription?: string;
  epoch?: string | null;
  after?: number;
}

/** Messages of one subscription (`id`), from one topic. */
export interface SessionMessagesFrame {
  type: "messages";
  id: string;
  topic: string;
  subscription?: string;
  messages: WireMessage[];
}

/** A subscription refused or ended by the broker (its topic or subscription deleted, its epoch over). */
export interface EndedFrame {
  type: "error";
  id: string;
  code: ErrorCode;
  message: string;
  /** The close code a socket of its own would have had. */
  closeCode: number;
}

/** The close code a single-topic socket would have had for a subscription's refusal or end. */
export function closeCodeOf(code: ErrorCode, message: string): number {
  if (code === "forbidden" || code === "unauthorized") return 1008;
  if (code === "rate_limited") return 1013;
  if (code === "conflict") return 4002;
  if (code === "not_found") {
    if (message.includes("subscription was deleted")) return 4001;
    if (message.includes("topic was deleted")) return 4000;
    return 4004;
  }
  return 1011;
}
