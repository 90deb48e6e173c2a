/**
 * Where the broker is and how to ask it: the URL and credential from flags or the environment,
 * plain `fetch` for the admin calls the client SDK does not make, and one error type for every
 * refusal, whether it came as problem+json, from the SDK, or from a network that did not answer.
 */
import { TITLES } from "../src/protocol/errors.ts";
import { UsageError } from "./args.mjs";

/** Where `npm start` listens. */
export const DEFAULT_URL = "http://127.0.0.1:8787";

/** How long one admin request may take before it counts as a network failure. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A request the broker refused (or that never got an answer): printed as `title: detail (code)`,
 * exit code 1.
 */
export class Refusal extends Error {
  /**
   * @param {string} title the problem's title, e.g. "Not found"
   * @param {string} detail the problem's detail
   * @param {string | undefined} code the broker's stable code, or `network`
   * @param {number | undefined} [status] the HTTP status, when there was one
   */
  constructor(title, detail, code, status) {
    super(`${title}: ${detail}`);
    this.name = "Refusal";
    this.title = title;
    this.detail = detail;
    this.code = code;
    this.status = status;
  }

  /** A `BrokerError` of the client SDK, with the title the broker gives its code. */
  static fromBrokerError(error) {
    const title = error.code === "network" ? "Cannot reach the broker" : (TITLES[error.code] ?? error.code);
    return new Refusal(title, error.detail || error.message, error.code, error.status);
  }

  /** The one line printed for it. */
  toString() {
    return `${this.title}: ${this.detail}${this.code ? ` (${this.code})` : ""}`;
  }
}

/**
 * The broker's URL and credential: flags first, then `EDGE_BROKER_URL` and `EDGE_BROKER_TOKEN`,
 * then the default URL and no credential.
 *
 * @example
 * resolveConfig({ url: undefined, token: undefined }, { EDGE_BROKER_URL: "http://127.0.0.1:9000" });
 * // { url: "http://127.0.0.1:9000", token: undefined }
 */
export function resolveConfig(values, env, fullName) {
  const url = values.url ?? (env.EDGE_BROKER_URL || DEFAULT_URL);
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${url}" is not a URL (the broker's, like ${DEFAULT_URL})`, fullName);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`the broker's URL must be http: or https:, not "${url}"`, fullName);
  }
  const token = values.token ?? (env.EDGE_BROKER_TOKEN || undefined);
  if (token === "") throw new UsageError("--token must not be empty", fullName);
  return { url: parsed.href.replace(/\/$/, ""), token };
}

/**
 * One request to the HTTP API: `path` segments are encoded one by one. Resolves with the answer's
 * status and parsed JSON body (`null` for a 204); a refusal throws a {@link Refusal}.
 *
 * @example
 * const { body } = await api(config, "GET", ["v1", "topics", "orders"]);
 */
export async function api(config, method, path, { json, query } = {}) {
  const url = new URL(`${config.url}/${path.map(encodeURIComponent).join("/")}`);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const headers = { accept: "application/json" };
  if (config.token !== undefined) headers.authorization = `Bearer ${config.token}`;
  if (json !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = error?.cause?.message ?? error?.message ?? String(error);
    throw new Refusal(
      "Cannot reach the broker",
      `${method} ${url.origin}${url.pathname}: ${cause}`,
      "network",
    );
  }
  const text = await response.text();
  if (!response.ok) throw refusalOf(response, text);
  return { status: response.status, body: text === "" ? null : JSON.parse(text) };
}

/** The refusal a failed answer holds: its problem document, or its status and a bit of its body. */
function refusalOf(response, text) {
  if (/json/i.test(response.headers.get("content-type") ?? "")) {
    try {
      const problem = JSON.parse(text);
      if (typeof problem.title === "string") {
        return new Refusal(problem.title, String(problem.detail ?? ""), problem.code, response.status);
      }
    } catch {
      // Not the JSON it claimed to be: the status speaks instead.
    }
  }
  const excerpt = text.trim().replace(/\s+/g, " ").slice(0, 200);
  const title = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  return new Refusal(title, excerpt || "the broker gave no reason", undefined, response.status);
}

/** SDK errors (`BrokerError`) as refusals; anything else as it is. */
export function asRefusal(error) {
  return error?.name === "BrokerError" ? Refusal.fromBrokerError(error) : error;
}

/**
 * The client SDK (`dist/client`, built by `npm run build:client`, which `npm ci` runs), with a
 * clear error when it has not been built.
 */
export async function loadClient() {
  try {
    return await import("../dist/client/index.js");
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new Refusal(
      "Client not built",
      "dist/client is missing: run `npm run build:client` (or `npm ci`, which builds it)",
      undefined,
    );
  }
}

/** A client of the configured broker. */
export async function brokerClient(config) {
  const { Broker } = await loadClient();
  return new Broker({ url: config.url, ...(config.token !== undefined && { token: config.token }) });
}
