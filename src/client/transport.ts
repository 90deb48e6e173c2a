import { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL } from "../protocol/ws-frames.js";
import { BrokerError, errorFromResponse } from "./errors.js";

/** A token, or a function that returns the current one (called before every request and connect). */
export type TokenSource = string | (() => string | Promise<string>);

/** Where a WebSocket carries the token; browsers can set neither headers nor cookies per socket. */
export type SocketTokenPlacement = "protocol" | "query";

export interface TransportOptions {
  /** The broker's base URL, e.g. `https://broker.example.com` (a path prefix is kept). */
  url: string | URL;
  token?: TokenSource;
  fetch?: typeof fetch;
  /** Default `protocol`; a token that is not a valid subprotocol token goes in the query anyway. */
  socketToken?: SocketTokenPlacement;
}

type Query = Record<string, string | number | undefined>;

/** Characters an HTTP token (and so a subprotocol entry) may hold (RFC 9110 §5.6.2). */
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The HTTP and WebSocket plumbing shared by every part of the client: URLs, the
 * token, problem+json errors.
 */
export class Transport {
  readonly #base: URL;
  readonly #token: TokenSource | undefined;
  readonly #fetch: typeof fetch;
  readonly #socketToken: SocketTokenPlacement;

  constructor(options: TransportOptions) {
    const base = new URL(options.url);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.#base = base;
    this.#token = options.token;
    // Bound so a fetch taken from `globalThis` is not called with the transport as `this`.
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#socketToken = options.socketToken ?? "protocol";
  }

  /** True when the token comes from a function, which may hand out a fresh one after a refusal. */
  get canRefreshToken(): boolean {
    return typeof this.#token === "function";
  }

  async token(): Promise<string | undefined> {
    const token = typeof this.#token === "function" ? await this.#token() : this.#token;
    if (token === "") throw new BrokerError("unauthorized", "the token provider returned an empty token");
    return token;
  }

  /** The URL of an API path; `segments` are encoded one by one. */
  url(segments: string[], query: Query = {}, scheme?: "ws"): URL {
    const url = new URL(segments.map(encodeURIComponent).join("/"), this.#base);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    if (scheme === "ws") url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url;
  }

  /**
   * Sends one request and returns the parsed JSON answer; a failed answer becomes a
   * {@link BrokerError} from its problem document, a failed fetch a `network` one.
   */
  async request<T>(
    method: string,
    segments: string[],
    init: {
      query?: Query;
      headers?: Record<string, string>;
      body?: BodyInit;
      json?: unknown;
      signal?: AbortSignal;
    } = {},
  ): Promise<T> {
    const headers = new Headers(init.headers);
    headers.set("accept", "application/json");
    const token = await this.token();
    if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    let response: Response;
    try {
      const request: RequestInit = { method, headers };
      if (body !== undefined) request.body = body;
      if (init.signal !== undefined) request.signal = init.signal;
      response = await this.#fetch(this.url(segments, init.query), request);
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason;
      throw new BrokerError("network", `${method} ${segments.join("/")} failed: ${describe(error)}`, {
        cause: error,
      });
    }
    if (!response.ok) throw await errorFromResponse(response);
    return (await response.json()) as T;
  }

  /**
   * Asks over plain HTTP why a WebSocket handshake failed: a refused upgrade (a bad token,
   * a missing right) is an HTTP answer the WebSocket API hides, and a client that cannot
   * tell it from a network failure would retry it forever. Returns the refusal, or
   * `undefined` when the answer says nothing final (the endpoint only speaks WebSocket,
   * the broker is unreachable or failing).
   */
  async probe(segments: string[]): Promise<BrokerError | undefined> {
    try {
      await this.request("GET", segments, { signal: AbortSignal.timeout(10_000) });
      return undefined;
    } catch (error) {
      if (!(error instanceof BrokerError) || error.status === undefined) return undefined;
      const final = error.code === "unauthorized" || error.code === "forbidden" || error.code === "not_found";
      return final ? error : undefined;
    }
  }

  /** Where and how to open a WebSocket for an API path, with a freshly obtained token. */
  async socket(segments: string[]): Promise<{ url: string; protocols: string[] }> {
    const token = await this.token();
    const protocols = [SUBPROTOCOL];
    const inProtocol = token !== undefined && this.#socketToken === "protocol" && TOKEN_RE.test(token);
    if (inProtocol) protocols.push(`${BEARER_PROTOCOL_PREFIX}${token}`);
    return { url: this.url(segments, inProtocol ? {} : { token }, "ws").href, protocols };
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    // Node's fetch says only "fetch failed"; the reason is in `cause`.
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
