import {
  batchSchema,
  correlationIdSchema,
  keySchema,
  listTopicsQuerySchema,
  publishQuerySchema,
  readQuerySchema,
  replyToSchema,
  topicPutSchema,
} from "../../protocol/http";
import { tailQuerySchema } from "../../protocol/http-consumers";
import { requestQuerySchema } from "../../protocol/requests";
import type { Operation } from "./operation";

/** Said of every raw body: its attributes travel as headers, one each. */
const ATTRIBUTES =
  "Attributes are `X-Attr-<name>: <value>` headers: `X-Attr-Region: eu` sets `region` to `eu`.";

const RAW_MESSAGE_HEADERS: NonNullable<Operation["headers"]> = [
  { name: "Correlation-Id", description: "ties a reply to its request", schema: correlationIdSchema },
];

const PUBLISH_HEADERS: NonNullable<Operation["headers"]> = [
  {
    name: "Idempotency-Key",
    description: "a retry with the same key within the dedup window is stored once",
    schema: keySchema,
  },
  { name: "Reply-To", description: "where replies go: a topic, or an inbox", schema: replyToSchema },
  ...RAW_MESSAGE_HEADERS,
  { name: "Producer-Id", description: "an idempotent producer (with Producer-Epoch and Producer-Seq)" },
  { name: "Producer-Epoch", description: "the producer's epoch: a non-negative integer" },
  { name: "Producer-Seq", description: "the producer's request number in its epoch: a non-negative integer" },
];

/** Topics, their messages, their live tail, and request/reply. */
export const TOPIC_OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/v1/topics",
    id: "listTopics",
    tag: "Topics",
    summary: "List topics in name order",
    description:
      "A token sees only the topics it holds a right on; `cursor` is the last name of a full page.",
    access: "credential",
    query: listTopicsQuerySchema,
    answers: [{ status: 200, description: "`{topics: [{name, createdAt}], cursor}`" }],
  },
  {
    method: "put",
    path: "/v1/topics/{topic}",
    id: "putTopic",
    tag: "Topics",
    summary: "Create or update the topic's config",
    access: "admin",
    body: { name: "TopicConfigPatch", schema: topicPutSchema },
    answers: [
      { status: 200, description: "updated: the topic" },
      { status: 201, description: "created: the topic" },
    ],
  },
  {
    method: "get",
    path: "/v1/topics/{topic}",
    id: "getTopic",
    tag: "Topics",
    summary: "The topic's stats and flow; config and usage only with admin",
    access: "subscribe",
    answers: [{ status: 200, description: "the topic" }],
  },
  {
    method: "delete",
    path: "/v1/topics/{topic}",
    id: "deleteTopic",
    tag: "Topics",
    summary: "Delete the topic, its messages and its subscriptions",
    access: "admin",
    answers: [{ status: 204, description: "deleted" }],
  },
  {
    method: "post",
    path: "/v1/topics/{topic}/messages",
    id: "publish",
    tag: "Messages",
    summary: "Publish one message: the raw body with its Content-Type",
    description: ATTRIBUTES,
    access: "publish",
    query: publishQuerySchema,
    body: "raw",
    headers: PUBLISH_HEADERS,
    answers: [{ status: 201, description: "`{seq, id, duplicate}`" }],
  },
  {
    method: "get",
    path: "/v1/topics/{topic}/messages",
    id: "readLog",
    tag: "Messages",
    summary: "Read the log after a seq, or follow it as Server-Sent Events",
    description:
      "With `Accept: text/event-stream` the answer is an SSE stream from `after` (or `Last-Event-ID`).",
    access: "subscribe",
    query: readQuerySchema,
    answers: [
      {
        status: 200,
        description: "`{messages, next, epoch}`",
        media: ["application/json", "text/event-stream"],
      },
    ],
  },
  {
    method: "post",
    path: "/v1/topics/{topic}/batch",
    id: "publishBatch",
    tag: "Messages",
    summary: "Publish up to 1,000 messages atomically",
    access: "publish",
    body: { name: "Batch", schema: batchSchema },
    answers: [{ status: 201, description: "`{messages: [{seq, id, duplicate}]}`" }],
  },
  {
    method: "get",
    path: "/v1/topics/{topic}/ws",
    id: "tailTopic",
    tag: "Streams",
    summary: "A WebSocket live tail of the log",
    access: "subscribe",
    query: tailQuerySchema,
    answers: [{ status: 101, description: "the WebSocket (subprotocol `edge-broker.v1`)" }],
  },
  {
    method: "post",
    path: "/v1/topics/{topic}/requests",
    id: "request",
    tag: "Requests",
    summary: "Publish the raw body as a request and wait for its first reply",
    description: `${ATTRIBUTES} Answers \`504 reply_timeout\` when no reply came in time, \`503 no_responders\` when nobody could see it.`,
    access: "publish",
    query: requestQuerySchema,
    body: "raw",
    headers: RAW_MESSAGE_HEADERS,
    answers: [{ status: 200, description: "the reply, as a message on the wire" }],
  },
  {
    method: "post",
    path: "/v1/replies/{replyTo}",
    id: "reply",
    tag: "Requests",
    summary: "Reply with the raw body: to a waiting inbox, or published to a reply topic",
    description: `${ATTRIBUTES} A reply to a topic needs \`publish\` on it; one to an inbox nobody waits on is \`410 gone\`.`,
    access: "credential",
    body: "raw",
    headers: [
      { name: "Idempotency-Key", description: "for a reply published to a topic", schema: keySchema },
      ...RAW_MESSAGE_HEADERS,
    ],
    answers: [
      { status: 200, description: "`{delivered: true}`: handed to the waiting requester" },
      { status: 201, description: "`{seq, id, duplicate}`: published to the reply topic" },
    ],
  },
];
