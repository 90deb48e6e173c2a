import type { Context, MiddlewareHandler } from "hono";
import type { Principal } from "../../auth/capabilities";
import { refuseSocket } from "../../auth/refuse-socket";
import { logLine } from "../../protocol/log";
import { problemResponse } from "../../protocol/problem";
import { CLOSE_CODES } from "../../protocol/ws-frames";
import { isWebSocketUpgrade } from "../../protocol/ws-handshake";
import type { BrokerEnv } from "../env";

/** What a limiter counts: HTTP publishes (single and batch), and streams opened (WebSocket, SSE). */
export type LimitedAction = "publish" | "connect";

/** The `[[ratelimits]]` binding of wrangler.toml that counts each action. */
export const RATE_LIMIT_BINDINGS = {
  publish: "PUBLISH_RATE_LIMIT",
  connect: "CONNECT_RATE_LIMIT",
} as const satisfies Record<LimitedAction, keyof Env>;

/**
 * `Retry-After` of a refusal, in seconds: the period of the binding as wrangler.toml ships it. The
 * binding reports neither its period nor when its window rolls over, so a deployment that changes
 * a period gets the default advice; a client that comes back early is refused again, cheaply.
 */
const RETRY_AFTER_S: Record<LimitedAction, number> = { publish: 10, connect: 60 };

const WHAT: Record<LimitedAction, string> = {
  publish: "publishes",
  connect: "WebSocket and SSE connections",
};

/** Longest subject used as a key as is; longer ones are hashed, so a key stays small. */
const MAX_RAW_SUBJECT = 256;

/**
 * The key a request is counted under, or `null` when it is not limited. A token that names a
 * subject (`sub`) is one client wherever it connects from, so its budget follows the subject. A
 * token without one may be shared by every visitor of a page (a read-only token in a public
 * dashboard), so counting it as one client would let a few visitors use up everyone's budget: it is
 * counted per client address instead. The admin key belongs to server-side apps, whose whole fleet
 * would share one budget sized for a browser; and a broker with `AUTH=off` is a local or trusted
 * one, whose clients all share one address (127.0.0.1) and whose load tests must run at full speed.
 * Both are left to the topic's own overload protection.
 *
 * @example
 * await rateLimitKey(principalFromCap({ "t": ["publish"] }, { subject: "user-7" }), request); // "sub:user-7"
 * await rateLimitKey(ADMIN_PRINCIPAL, request); // null
 */
export async function rateLimitKey(principal: Principal, request: Request): Promise<string | null> {
  if (principal.kind !== "token") return null;
  const subject = principal.subject;
  if (subject !== null && subject !== "") {
    return subject.length <= MAX_RAW_SUBJECT ? `sub:${subject}` : `sub#${await sha256Hex(subject)}`;
  }
  return `client:${clientAddress(request.headers.get("CF-Connecting-IP"))}`;
}

/**
 * Counts requests against the action's `[[ratelimits]]` binding and refuses those over the limit
 * with `429 rate_limited` and `Retry-After` (a WebSocket upgrade: an accepted socket closed with
 * 1013, see {@link refuseSocket}). Mount it on the route, after `requireRight`: the
 * limit protects the topics, so a request refused for want of a right costs the budget nothing.
 * Without the binding (a configuration from before it existed) requests pass; so they do when the
 * limiter itself fails, since an outage of the counter must not become an outage of the broker.
 *
 * @example
 * messages.post("/:topic/messages", requireRight("publish"), rateLimit("publish"), publish);
 * messages.get("/:topic/messages", requireRight("subscribe"), rateLimit("connect", { when: wantsEventStream }), read);
 */
export function rateLimit(
  action: LimitedAction,
  options: { when?: (c: Context<BrokerEnv>) => boolean } = {},
): MiddlewareHandler<BrokerEnv> {
  const binding = RATE_LIMIT_BINDINGS[action];
  return async function rateLimit(c, next) {
    const limiter = (c.env as Partial<Pick<Env, typeof binding>>)[binding];
    if (limiter === undefined || (options.when !== undefined && !options.when(c))) return next();
    const principal = c.get("principal");
    // A route that forgot auth() is a bug that requireRight reports; never limit on a guess.
    if (principal === undefined) throw new Error(`rateLimit("${action}") runs without auth() before it`);
    const key = await rateLimitKey(principal, c.req.raw);
    if (key === null) return next();

    let allowed: boolean;
    try {
      ({ success: allowed } = await limiter.limit({ key }));
    } catch (error) {
      logLine("error", "rate limit failed; letting the request through", { binding }, error);
      return next();
    }
    if (allowed) return next();
    const retryAfter = RETRY_AFTER_S[action];
    const detail = `too many ${WHAT[action]} from this client; retry after ${retryAfter} s (the limit is ${binding} in wrangler.toml)`;
    if (isWebSocketUpgrade(c.req.raw)) {
      // Told on the socket, as auth refusals are: close 1013 (try again later), which clients back off from.
      return refuseSocket(c.req.raw, CLOSE_CODES.TRY_AGAIN_LATER, "rate_limited", detail);
    }
    return problemResponse("rate_limited", detail, { headers: { "Retry-After": String(retryAfter) } });
  };
}

/** True for a request that asks for the log as Server-Sent Events (a stream, so a connection). */
export const wantsEventStream = (c: Context): boolean =>
  c.req.header("accept")?.includes("text/event-stream") ?? false;

/**
 * The client address a request is counted under. Cloudflare sets `CF-Connecting-IP` on every
 * request and replaces any value the client sent; locally (wrangler dev sets it too, tests may
 * not) a missing one falls back to a fixed key. An IPv6 client usually holds a whole /64, so it is
 * counted by that prefix: otherwise every address of it would get a budget of its own.
 */
export function clientAddress(header: string | null): string {
  const ip = header?.trim() ?? "";
  if (ip === "") return "local";
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!ip.includes(":")) return ip.slice(0, 64);
  return ipv6Prefix64(ip) ?? ip.slice(0, 64);
}

/** `2001:db8:1:2:3:4:5:6` → `2001:db8:1:2::/64`; `null` when the text is not an IPv6 address. */
function ipv6Prefix64(ip: string): string | null {
  const halves = ip.split("::");
  if (halves.length > 2) return null;
  const part = (text: string | undefined) => (text ? text.split(":") : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(Math.max(missing, 0)).fill("0"), ...tail];
  if (!groups.slice(0, 4).every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
