import { Hono, type MiddlewareHandler } from "hono";
import { auth } from "../auth/middleware";
import { VERSION } from "../protocol/version";
import { H } from "./ds/headers";
import { streamProtocolRoutes } from "./ds/routes";
import type { BrokerEnv } from "./env";
import { handleError, handleNotFound, methodNotAllowed } from "./errors";
import { browserCors } from "./middleware/cors";
import { requestLog } from "./middleware/request-log";
import { messageRoutes } from "./routes/messages";
import { metricsRoutes } from "./routes/metrics";
import { openApiRoutes } from "./routes/openapi";
import { replyRoutes, requestRoutes } from "./routes/requests";
import { sessionRoutes } from "./routes/sessions";
import { streamRoutes } from "./routes/streams";
import { subscriptionRoutes } from "./routes/subscriptions";
import { tokenRoutes } from "./routes/tokens";
import { topicRoutes } from "./routes/topics";
import { sqsRoutes } from "./sqs/routes";

/**
 * API answers are live state (offsets, leases, stats): no browser or proxy may keep a copy.
 * A 101 (WebSocket upgrade) is left alone, since its response cannot be rebuilt.
 */
const noStore: MiddlewareHandler = async function noStore(c, next) {
  await next();
  if (c.res.status !== 101) c.header("Cache-Control", "no-store");
};

/**
 * The broker's HTTP API (DESIGN.md §4).
 *
 * @example
 * export default app; // the worker's fetch handler
 * const res = await app.request("/healthz"); // 200 {"ok":true,"version":"0.1.0"}
 */
export const app = new Hono<BrokerEnv>();

// First of all: every request gets an id and a log line, refusals by any layer included.
app.use("*", requestLog());
app.onError(handleError);
app.notFound(handleNotFound);

app.get("/healthz", (c) => c.json({ ok: true, version: VERSION }));
app.all("/healthz", methodNotAllowed("GET"));

// Every /v1 request passes this chain before reaching a route: authentication (DESIGN.md §6) first,
// so that no route can be reached around it. Each route then checks its right on its topic.
app.use("/v1/*", browserCors());
// The API's description is public, as /healthz is: /docs reads it without a credential.
app.route("/v1", openApiRoutes);
app.use("/v1/*", auth());
app.use("/v1/*", noStore);

app.route("/v1/tokens", tokenRoutes);
app.route("/v1/metrics", metricsRoutes);
app.route("/v1", sessionRoutes);
app.route("/v1/topics", streamRoutes);
app.route("/v1/topics", topicRoutes);
app.route("/v1/topics", messageRoutes);
app.route("/v1/topics", subscriptionRoutes);
app.route("/v1/topics", requestRoutes);
app.route("/v1/replies", replyRoutes);

// Durable Streams (DESIGN.md §9) on the same topics, behind the same auth. Its reads set their own
// Cache-Control: the protocol lets a range that can no longer change be cached.
app.use(
  "/ds/*",
  browserCors({
    allowMethods: ["GET", "HEAD", "POST", "PUT", "DELETE"],
    exposeHeaders: [
      H.nextOffset,
      H.upToDate,
      H.cursor,
      H.closed,
      H.ttl,
      H.expiresAt,
      H.sseEncoding,
      H.producerEpoch,
      H.producerSeq,
      H.expectedSeq,
      H.receivedSeq,
      "ETag",
    ],
  }),
);
app.use("/ds/*", auth());
app.route("/ds", streamProtocolRoutes);

// Amazon SQS (DESIGN.md §10): a queue is a topic with one subscription. The layer authenticates
// itself (SigV4 as well as bearer tokens) and answers every refusal in SQS's shape.
app.route("/sqs", sqsRoutes);
