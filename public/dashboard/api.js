/**
 * The broker's HTTP API as the dashboard calls it: the credential as a bearer header (never in
 * a URL), JSON in and out, and refusals as an {@link ApiError} carrying the problem's code,
 * title and detail (RFC 9457), so a view can say exactly what the broker said.
 */

/** The broker this dashboard is served by: the folder above `/dashboard/`. */
export const BROKER_URL = new URL("../", new URL(".", location.href)).href;

/** A refusal or failure of one call. `status` is 0 when no answer came back at all. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem.code ?? (status === 0 ? "network" : "internal");
    this.title = problem.title ?? (status === 0 ? "No answer" : `HTTP ${status}`);
    this.detail = problem.detail ?? "";
  }

  /** `Forbidden: this credential lacks "admin" on topic "orders" (forbidden)`. */
  describe() {
    return `${this.title}${this.detail ? `: ${this.detail}` : ""} (${this.code})`;
  }
}

/** `/v1/topics/{topic}/…`, each segment encoded. */
export function topicPath(topic, ...rest) {
  return ["v1", "topics", topic, ...rest].map(encodeURIComponent).join("/");
}

/**
 * Calls of one credential. `onUnauthorized` runs when the broker stops accepting it (expired,
 * rotated), before the call rejects.
 *
 * @example
 * const api = new Api(secret, () => signOut("the credential was refused"));
 * const { topics, cursor } = await api.get("v1/topics", { prefix: "orders.", limit: 25 });
 */
export class Api {
  #secret;
  #onUnauthorized;

  constructor(secret, onUnauthorized = () => {}) {
    this.#secret = secret;
    this.#onUnauthorized = onUnauthorized;
  }

  get(path, query, init) {
    return this.call("GET", path, { ...init, query });
  }

  put(path, json) {
    return this.call("PUT", path, { json });
  }

  post(path, json) {
    return this.call("POST", path, { json: json ?? {} });
  }

  delete(path) {
    return this.call("DELETE", path);
  }

  /** One request; resolves to the parsed JSON answer (`null` for 204), rejects with an {@link ApiError}. */
  async call(method, path, { query, json, signal } = {}) {
    const url = new URL(path, BROKER_URL);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
    }
    const headers = { accept: "application/json" };
    if (this.#secret) headers.authorization = `Bearer ${this.#secret}`;
    if (json !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        signal,
        cache: "no-store",
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, { detail: `the broker did not answer (${error.message})` });
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let body = null;
    try {
      body = text === "" ? null : JSON.parse(text);
    } catch {
      body = { detail: text.slice(0, 200) };
    }
    if (!response.ok) {
      const error = new ApiError(response.status, body ?? {});
      if (response.status === 401) this.#onUnauthorized(error);
      throw error;
    }
    return body;
  }
}
