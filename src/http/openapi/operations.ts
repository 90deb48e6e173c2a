import { MintRequestSchema } from "../../auth/mint";
import { metricsQuerySchema } from "../../protocol/metrics-query";
import type { Operation } from "./operation";
import { SUBSCRIPTION_OPERATIONS } from "./subscription-operations";
import { TOPIC_OPERATIONS } from "./topic-operations";

export type { Access, Answer, Operation } from "./operation";

/** The broker's own operations: health, this document, metrics, tokens, sessions. */
const BROKER_OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/healthz",
    id: "health",
    tag: "Broker",
    summary: "Liveness, and the running release",
    access: "public",
    answers: [{ status: 200, description: "`{ok: true, version}`" }],
  },
  {
    method: "get",
    path: "/v1/openapi.json",
    id: "openApiDocument",
    tag: "Broker",
    summary: "This document",
    access: "public",
    answers: [{ status: 200, description: "the OpenAPI 3.1 document of the API" }],
  },
  {
    method: "get",
    path: "/v1/metrics",
    id: "metrics",
    tag: "Broker",
    summary: "A page of topics in the Prometheus text format",
    description:
      'The topics under `prefix` on which the credential holds `admin`, at most `limit` (100) and no more once 5,000 subscriptions are on the page. A next page is named by `Link: <…>; rel="next"`.',
    access: "credential",
    query: metricsQuerySchema,
    answers: [{ status: 200, description: "Prometheus text format 0.0.4", media: ["text/plain"] }],
  },
  {
    method: "post",
    path: "/v1/tokens",
    id: "mintToken",
    tag: "Broker",
    summary: "Mint a scoped token, within the minter's rights and lifetime",
    access: "admin everywhere",
    body: { name: "TokenRequest", schema: MintRequestSchema },
    answers: [{ status: 201, description: "`{token, expiresAt}`" }],
  },
  {
    method: "get",
    path: "/v1/ws",
    id: "openSession",
    tag: "Streams",
    summary: "A WebSocket session: many live tails and consumers on one connection",
    description: "Subprotocol `edge-broker.v1`; the frames are in the README (Sessions).",
    access: "credential",
    answers: [{ status: 101, description: "the WebSocket" }],
  },
];

/**
 * Every operation the app serves under `/v1` and `/healthz` (`/ds` is another protocol: DESIGN.md
 * §9). test/worker/openapi.test.ts holds this list to the routes the app serves, both ways.
 */
export const OPERATIONS: Operation[] = [
  ...BROKER_OPERATIONS,
  ...TOPIC_OPERATIONS,
  ...SUBSCRIPTION_OPERATIONS,
];
