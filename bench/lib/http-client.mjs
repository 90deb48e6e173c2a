/**
 * A lean HTTP/1.1 client over keep-alive connections (node:http): the load generator shares two
 * cores with the server, so it spends as little as it can per request.
 */
import http from "node:http";

/** No single request may hang a phase: past this it is aborted and counted as an error. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A pool of keep-alive connections to one origin, at most `connections` of them.
 *
 * @param {string} origin e.g. "http://127.0.0.1:8787"
 * @param {number} connections
 */
export function httpPool(origin, connections) {
  const url = new URL(origin);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });

  /**
   * Sends one request; resolves `{status, body}` (body as text), or `{status: 0, error}` when the
   * request failed or timed out. Never rejects.
   *
   * @param {string} method
   * @param {string} path
   * @param {string | Buffer | undefined} body
   * @param {Record<string, string>} [headers]
   */
  function request(method, path, body, headers = {}) {
    return new Promise((resolve) => {
      const all = { ...headers };
      if (body !== undefined) all["content-length"] = String(Buffer.byteLength(body));
      const req = http.request(
        { agent, host: url.hostname, port: url.port, method, path, headers: all },
        (res) => {
          const chunks = [];
          res.on("data", (chunk) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
          res.on("error", (error) => resolve({ status: 0, body: "", error }));
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error("request timed out")));
      req.on("error", (error) => resolve({ status: 0, body: "", error }));
      req.end(body);
    });
  }

  return {
    request,
    /** JSON in, JSON out; throws on a non-2xx answer (setup and bookkeeping calls, not load). */
    async json(method, path, value) {
      const body = value === undefined ? undefined : JSON.stringify(value);
      const res = await request(method, path, body, { "content-type": "application/json" });
      if (res.status < 200 || res.status >= 300) {
        throw new Error(
          `${method} ${path} answered ${res.status || res.error?.message}: ${res.body.slice(0, 300)}`,
        );
      }
      return res.body ? JSON.parse(res.body) : null;
    },
    close() {
      agent.destroy();
    },
  };
}
