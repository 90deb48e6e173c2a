/**
 * Which webhook URLs the broker may call (DESIGN.md §3, "Push subscriptions"): checked when a
 * subscription is configured and again before every delivery, so a URL that was never allowed,
 * or is no longer, is never fetched. The check is on the URL as the runtime's own parser (WHATWG)
 * reads it, the same parser `fetch` uses: `https://2130706433/`, `https://0x7f.1/` and
 * `https://017700000001/` all read as `127.0.0.1` and are refused as the IP literal they are.
 */

/** Host names that name this machine, its network or a cloud's metadata service, never a receiver. */
const REFUSED_NAMES = ["localhost", "metadata.google.internal", "metadata", "instance-data"];
/** Suffixes of names that only resolve inside a private network. */
const REFUSED_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet"];

export interface PushUrlPolicy {
  /** `PUSH_ALLOW_PRIVATE=true` (local development): `http:` and loopback receivers are allowed. */
  allowPrivate: boolean;
  /** The broker's own host (`host[:port]`), refused so the broker never calls itself. */
  ownHost?: string;
}

export type PushUrlCheck = { ok: true; url: URL } | { ok: false; detail: string };

/**
 * Whether the broker may deliver to `text`: https only, no credentials in it, no IP literal in
 * any notation, no name of this machine or of a private network or metadata service, not the
 * broker itself. With `allowPrivate`, `http:` and loopback (`127.0.0.0/8`, `[::1]`,
 * `localhost`) are allowed too, for a receiver on the same machine.
 *
 * @example
 * checkPushUrl("https://hooks.example.com/orders", { allowPrivate: false }); // { ok: true, url }
 * checkPushUrl("https://169.254.169.254/", { allowPrivate: false });
 * // { ok: false, detail: "push.url must not be an IP address (169.254.169.254): name the receiver by its DNS name" }
 */
export function checkPushUrl(text: string, policy: PushUrlPolicy): PushUrlCheck {
  const refuse = (why: string): PushUrlCheck => ({ ok: false, detail: `push.url ${why}` });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse("must be an absolute https:// URL");
  }
  const loopback = isLoopback(url.hostname);
  if (url.protocol !== "https:" && !(policy.allowPrivate && url.protocol === "http:")) {
    return refuse(`must use https:, not ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "") {
    return refuse("must not carry credentials: the receiver verifies the signature instead");
  }
  if (policy.ownHost !== undefined && url.host.toLowerCase() === policy.ownHost.toLowerCase()) {
    return refuse(`must not be the broker's own host (${url.host})`);
  }
  if (policy.allowPrivate && loopback) return { ok: true, url };
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (isIpLiteral(host)) {
    return refuse(`must not be an IP address (${url.hostname}): name the receiver by its DNS name`);
  }
  if (REFUSED_NAMES.includes(host) || REFUSED_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return refuse(`must not name this machine, a private network or a metadata service (${host})`);
  }
  if (!host.includes(".")) {
    return refuse(`must name a public host with a dotted DNS name, not "${host}"`);
  }
  return { ok: true, url };
}

/**
 * An IPv6 literal (bracketed), or a host whose last label is a number: the URL parser reads such
 * a host as IPv4 (decimal, octal, hex or short forms), so it is an address, whatever it spells.
 */
function isIpLiteral(host: string): boolean {
  if (host.startsWith("[")) return true;
  const last = host.split(".").at(-1) ?? "";
  return /^(0x[0-9a-f]*|\d+)$/i.test(last);
}

/** `127.0.0.0/8`, `[::1]` (and its IPv4-mapped form) or `localhost`: this machine, and only it. */
function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host === "[::1]") return true;
  if (/^127\.\d+\.\d+\.\d+$/.test(host)) return true;
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
}
