/**
 * What topics and edge objects say to each other (DESIGN.md §5, "Relays"): an edge object holds
 * client sockets near the clients and is fed by topics, one batch per publish, by RPC.
 */

/** One batch a topic sends a relay: every message after `after` up to `last`, as one frame. */
export interface RelayBatch {
  topic: string;
  epoch: string;
  /** The seq before the batch's first message: the relay's sockets at this position take it whole. */
  after: number;
  /** The batch's last seq (equal to `after` for an empty batch, which only tells the head). */
  last: number;
  /** The `messages` (or `message`) frame, serialised once by the topic; `null` for an empty batch. */
  frame: string | null;
}

/** A batch a topic pushes to a session's consumer: leased to `consumer` already. */
export interface ConsumerBatch {
  topic: string;
  subscription: string;
  /** The lease holder: the session's name and the subscription's id there. */
  consumer: string;
  epoch: string;
  /** The `message`/`messages` frame, serialised once by the topic. */
  frame: string;
}

/** A session follows a topic's log: where the topic stands (`epoch: null` while it does not exist). */
export interface Following {
  epoch: string | null;
  head: number;
}

/** The lease holder of a session's consumer: the session and the subscription's id in it. */
export const remoteConsumer = (edge: string, id: string): string => `${edge}|${id}`;

/** What a relay holds of one topic, by who is counted for it (DESIGN.md §6). */
export interface RelayAudienceRow {
  /** The rate-limit key the sockets were opened with; `""` when not counted. */
  subject: string;
  privileged: boolean;
  sockets: number;
}

/** What a topic hands a relay with a socket it admitted (carried on the internal upgrade URL). */
export interface RelayUpgrade {
  topic: string;
  /** The topic's epoch when the socket was admitted. */
  epoch: string;
  /** The socket's stream continues after this seq. */
  after: number;
  /** The topic's newest seq when it admitted the socket: the relay catches the socket up to it. */
  head: number;
  canPublish: boolean;
  /** When the client's credential stops being accepted, epoch ms. */
  expiresAt?: number;
  /** Who the socket is counted as (see the topic's ./upgrade.ts); absent when not counted. */
  subject?: string;
  privileged?: boolean;
}

/** The internal request that hands a relay a socket, with the client's headers intact. */
export function relayUpgradeRequest(request: Request, options: RelayUpgrade): Request {
  const url = new URL("https://relay.internal/ws");
  url.searchParams.set("topic", options.topic);
  url.searchParams.set("epoch", options.epoch);
  url.searchParams.set("after", String(options.after));
  url.searchParams.set("head", String(options.head));
  url.searchParams.set("publish", options.canPublish ? "1" : "0");
  if (options.expiresAt !== undefined) url.searchParams.set("expires", String(options.expiresAt));
  if (options.subject !== undefined) url.searchParams.set("subject", options.subject);
  if (options.privileged) url.searchParams.set("privileged", "1");
  return new Request(url, request);
}

export function readRelayUpgrade(url: URL): RelayUpgrade {
  const get = (name: string) => url.searchParams.get(name);
  const options: RelayUpgrade = {
    topic: get("topic") ?? "",
    epoch: get("epoch") ?? "",
    after: Number(get("after") ?? 0),
    head: Number(get("head") ?? 0),
    canPublish: get("publish") === "1",
  };
  const expires = get("expires");
  if (expires !== null) options.expiresAt = Number(expires);
  const subject = get("subject");
  if (subject !== null) options.subject = subject;
  if (get("privileged") === "1") options.privileged = true;
  return options;
}

/**
 * A relay's name: its topic, its location hint and its number among the topic's relays there.
 * Topic names cannot hold `/`, so the name reads back unambiguously.
 *
 * @example
 * relayName("orders", "weur", 2); // "relay/weur/2/orders"
 * parseRelayName("relay/weur/2/orders"); // { hint: "weur", index: 2, topic: "orders" }
 */
export const relayName = (topic: string, hint: string, index: number): string =>
  `relay/${hint}/${index}/${topic}`;

export function parseRelayName(name: string): { hint: string; index: number; topic: string } | null {
  const match = /^relay\/([a-z]+)\/(\d+)\/(.+)$/.exec(name);
  if (!match) return null;
  return { hint: match[1] as string, index: Number(match[2]), topic: match[3] as string };
}

/** The hint of relays for clients whose request carried no place (local runs, tests). */
export const NO_HINT = "near";

/** Who opened a session (`GET /v1/ws`), as the worker hands it over with the upgrade. */
export interface SessionUpgrade {
  /** The credential's grants: each subscribe is checked against them. */
  grants: { pattern: string; rights: string[] }[];
  /** Who the session's tails are counted as on each topic (the rate-limit key); `null` when not counted. */
  subject: string | null;
  privileged: boolean;
  /** When the credential stops being accepted, epoch ms; `null` when it does not expire. */
  expiresAt: number | null;
  /** Most subscriptions the session carries. */
  maxSubscriptions: number;
}

/** The internal request that opens a session, with the client's headers intact. */
export function sessionUpgradeRequest(request: Request, options: SessionUpgrade): Request {
  const url = new URL("https://session.internal/ws");
  url.searchParams.set("connection", JSON.stringify(options));
  return new Request(url, request);
}

export function readSessionUpgrade(url: URL): SessionUpgrade | null {
  const text = url.searchParams.get("connection");
  return text === null ? null : (JSON.parse(text) as SessionUpgrade);
}

/** A session's object name: where its client is, and a name of its own. */
export const sessionName = (hint: string, id: string): string => `session/${hint}/${id}`;
