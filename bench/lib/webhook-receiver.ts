/**
 * A webhook receiver on loopback, for the end-to-end tests and the benchmark: a real Node HTTP
 * server that verifies every request with the `standardwebhooks` package, unmodified, and
 * answers as `behave` says. It keeps what it saw: requests, the most in flight at once, and each
 * delivery it answered 2xx with its `webhook-id`. (Erasable TypeScript only: bench/ runs it as is.)
 *
 * @example
 * const receiver = await startReceiver({ secret: () => secret });
 * // … PUT a push subscription to receiver.url …
 * await receiver.close();
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface Delivery {
  id: string;
  seq: number;
  attempt: number;
  key?: string;
  message: { seq: number; attempt: number; key?: string; data?: unknown; publishedAt: number };
  at: number;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Drop the connection without an answer (a receiver that is down mid-request). */
  destroy?: boolean;
}

export interface Receiver {
  url: string;
  port: number;
  /** Deliveries answered 2xx, in the order they were answered. */
  deliveries: Delivery[];
  /** `inFlight` counts requests whose answer is not sent and whose connection is open. */
  stats: { requests: number; inFlight: number; maxInFlight: number; unverified: number };
  close(): Promise<void>;
}

export async function startReceiver(options: {
  secret: () => string | undefined;
  behave?: (delivery: Delivery) => Answer | undefined;
  port?: number;
}): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const stats = { requests: 0, inFlight: 0, maxInFlight: 0, unverified: 0 };
  const server = createServer((req, res) => {
    // A request is in flight while its connection waits for the answer: until the answer is
    // sent, or the broker gives up on it (a timeout aborts the request and closes it).
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    res.on("close", () => stats.inFlight--);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      stats.requests++;
      {
        const body = Buffer.concat(chunks).toString("utf8");
        let message: Delivery["message"];
        try {
          const headers = req.headers as Record<string, string>;
          message = new Webhook(options.secret() ?? "").verify(body, headers) as Delivery["message"];
        } catch {
          stats.unverified++;
          res.writeHead(401).end();
          return;
        }
        const delivery: Delivery = {
          id: String(req.headers["webhook-id"]),
          seq: message.seq,
          attempt: message.attempt,
          message,
          at: Date.now(),
        };
        if (message.key !== undefined) delivery.key = message.key;
        const answer = options.behave?.(delivery) ?? {};
        if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
        // The broker gave up on it (a timeout): no answer reaches it, so it did not happen.
        if (res.destroyed) return;
        if (answer.destroy) {
          req.socket.destroy();
          return;
        }
        const status = answer.status ?? 204;
        if (status >= 200 && status < 300) deliveries.push(delivery);
        res.writeHead(status, answer.headers ?? {}).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    deliveries,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
