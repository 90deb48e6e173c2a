import type * as z from "zod";
import {
  ackSchema,
  consumerQuerySchema,
  extendSchema,
  nackSchema,
  pullSchema,
  seekSchema,
  subscriptionPutSchema,
} from "../../protocol/http-consumers";
import type { Access, Operation } from "./operation";

const SUB = "/v1/topics/{topic}/subscriptions/{sub}";

const verb = (
  name: string,
  summary: string,
  access: Access,
  body: { name: string; schema: z.ZodType } | undefined,
  answer: string,
): Operation => ({
  method: "post",
  path: `${SUB}/${name}`,
  id: `${name}Subscription`,
  tag: "Subscriptions",
  summary,
  access,
  ...(body ? { body } : {}),
  answers: [{ status: 200, description: answer }],
});

/** Subscriptions: config, stats, the pull consumer's verbs, and the push consumer's socket. */
export const SUBSCRIPTION_OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/v1/topics/{topic}/subscriptions",
    id: "listSubscriptions",
    tag: "Subscriptions",
    summary: "The topic's subscriptions with their stats and flow",
    access: "subscribe",
    answers: [{ status: 200, description: "`{subscriptions}`" }],
  },
  {
    method: "put",
    path: SUB,
    id: "putSubscription",
    tag: "Subscriptions",
    summary: "Create or update a subscription",
    access: "admin",
    body: { name: "SubscriptionConfigPatch", schema: subscriptionPutSchema },
    answers: [
      { status: 200, description: "updated: the subscription" },
      { status: 201, description: "created: the subscription, with `secret` when push got one" },
    ],
  },
  {
    method: "get",
    path: SUB,
    id: "getSubscription",
    tag: "Subscriptions",
    summary: "The subscription's stats and flow; config only with admin",
    access: "subscribe",
    answers: [{ status: 200, description: "the subscription" }],
  },
  {
    method: "delete",
    path: SUB,
    id: "deleteSubscription",
    tag: "Subscriptions",
    summary: "Delete the subscription",
    access: "admin",
    answers: [{ status: 204, description: "deleted" }],
  },
  verb(
    "pull",
    "Lease messages, long-polling when none is ready",
    "subscribe",
    { name: "Pull", schema: pullSchema },
    "`{messages, epoch}`",
  ),
  verb("ack", "Settle delivered messages", "subscribe", { name: "Ack", schema: ackSchema }, "`{acked}`"),
  verb(
    "nack",
    "Deliver messages again, after a delay or the backoff",
    "subscribe",
    { name: "Nack", schema: nackSchema },
    "`{nacked}`",
  ),
  verb(
    "extend",
    "Renew leases from now",
    "subscribe",
    { name: "Extend", schema: extendSchema },
    "`{extended}`",
  ),
  verb("seek", "Move the cursor", "subscribe", { name: "Seek", schema: seekSchema }, "`{cursor}`"),
  verb("purge", "Ack everything published so far", "admin", undefined, "`{purged}`"),
  verb(
    "redrive",
    "Give the subscription's dead letters back to it, each once",
    "admin",
    undefined,
    "`{redriven, skipped, more}`",
  ),
  {
    method: "get",
    path: `${SUB}/ws`,
    id: "consumeSubscription",
    tag: "Streams",
    summary: "A WebSocket push consumer of the subscription",
    access: "subscribe",
    query: consumerQuerySchema,
    answers: [{ status: 101, description: "the WebSocket (subprotocol `edge-broker.v1`)" }],
  },
];
