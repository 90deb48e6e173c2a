/**
 * How the worker hands a WebSocket upgrade to a topic: after authenticating
 * and validating, it forwards the client's request (headers intact, so the
 * runtime can complete the handshake) to this internal URL, which carries what
 * the worker decided. The object trusts it: only the worker can reach it.
 */
export interface UpgradeOptions {
  topic: string;
  /** Set for a consumer socket of this subscription; absent for a live tail. */
  subscription?: string;
  /** Live tail: continue after this seq; absent = from the tail. */
  after?: number;
  /** Live tail: the epoch the client resumes in, to detect a re-created topic. */
  epoch?: string;
  /** Consumers: the credit to start with, before any `flow` frame. */
  maxInFlight?: number;
  /** Whether the client may publish over this socket. */
  canPublish: boolean;
  /** When the client's credential stops being accepted (its expiry, clock tolerance included), epoch ms. */
  expiresAt?: number;
  /**
   * Who the client is counted as (its rate-limit key: a token's subject, else its address):
   * its publishes over the socket share its publish limit, and it holds at most
   * `MAX_SOCKETS_PER_SUBJECT` sockets on the topic. Absent: not counted (the admin key, AUTH=off).
   */
  subject?: string;
  /** The admin key: may use the headroom kept above the topic's socket cap. */
  privileged?: boolean;
  /** The location hint nearest the client (../protocol/placement.ts): where a relay for it goes. */
  hint?: string;
}

export function upgradeRequest(request: Request, options: UpgradeOptions): Request {
  const url = new URL("https://topic.internal/ws");
  url.searchParams.set("topic", options.topic);
  if (options.subscription !== undefined) url.searchParams.set("subscription", options.subscription);
  if (options.after !== undefined) url.searchParams.set("after", String(options.after));
  if (options.epoch !== undefined) url.searchParams.set("epoch", options.epoch);
  if (options.maxInFlight !== undefined) url.searchParams.set("maxInFlight", String(options.maxInFlight));
  url.searchParams.set("publish", options.canPublish ? "1" : "0");
  if (options.subject !== undefined) url.searchParams.set("subject", options.subject);
  if (options.privileged) url.searchParams.set("privileged", "1");
  if (options.expiresAt !== undefined) url.searchParams.set("expires", String(options.expiresAt));
  if (options.hint !== undefined) url.searchParams.set("hint", options.hint);
  return new Request(url, request);
}

export function readUpgrade(url: URL): UpgradeOptions {
  const number = (name: string) => {
    const value = url.searchParams.get(name);
    return value === null ? undefined : Number(value);
  };
  const options: UpgradeOptions = {
    topic: url.searchParams.get("topic") ?? "",
    canPublish: url.searchParams.get("publish") === "1",
  };
  const subscription = url.searchParams.get("subscription");
  const subject = url.searchParams.get("subject");
  if (subject !== null) options.subject = subject;
  if (url.searchParams.get("privileged") === "1") options.privileged = true;
  const epoch = url.searchParams.get("epoch");
  const after = number("after");
  const expiresAt = number("expires");
  const maxInFlight = number("maxInFlight");
  if (subscription !== null) options.subscription = subscription;
  if (epoch !== null) options.epoch = epoch;
  if (after !== undefined) options.after = after;
  if (expiresAt !== undefined) options.expiresAt = expiresAt;
  if (maxInFlight !== undefined) options.maxInFlight = maxInFlight;
  const hint = url.searchParams.get("hint");
  if (hint !== null) options.hint = hint;
  return options;
}
