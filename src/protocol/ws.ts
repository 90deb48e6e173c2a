/**
 * The WebSocket protocol `edge-broker.v1` (DESIGN.md §5): zod schemas of every frame
 * and the one parser the server uses for what clients send. Types and constants live
 * in `./ws-frames.ts` (no runtime dependency, shared with the client SDK) and are
 * re-exported here.
 *
 * ## Connecting
 * - Consumer: `GET /v1/topics/{topic}/subscriptions/{sub}/ws`.
 *   Live tail: `GET /v1/topics/{topic}/ws?after={seq}&epoch={epoch}` (both optional).
 * - `Sec-WebSocket-Protocol: edge-broker.v1` plus, optionally, `bearer.<token>`
 *   (or `?token=`). The server answers with exactly `edge-broker.v1`: browsers fail a
 *   handshake whose answer they did not offer, or that has no answer when they offered one.
 * - A refusal found at connect time (auth, unknown topic or subscription) is sent as an
 *   accepted socket that gets one `error` frame and is closed with the matching code
 *   (1008, 4004): a browser cannot read the HTTP status of a refused upgrade, and a client
 *   that cannot tell a refusal from a network failure retries it forever.
 *
 * ## Frames
 * JSON text frames of at most 1 MiB, each an object with a string `type`. A binary frame
 * closes the socket with 4400. The server speaks first with `hello`.
 *
 * - Requests may carry an `id` (a string); the reply echoes it.
 * - `ack`, `nack`, `extend`, `flow` are fire-and-forget: nothing comes back on success
 *   unless the frame has an `id`, then `{type: "ok", id}`. A seq that is not in flight
 *   (already acked, unknown) is ignored, not an error: acks are idempotent.
 * - `publish` is always answered: `published {id?, seq, messageId, duplicate}` or `error`.
 *   Its fields are those of one `POST /batch` entry (`data` | `dataBase64`, `contentType`,
 *   `attributes`, `key`, `delay`, `idempotencyKey`) and are validated by the same schema.
 *   It works on both kinds of socket and needs the publish right on the topic.
 * - `ping` written exactly as {@link PING_FRAME} is answered with {@link PONG_FRAME} by the
 *   hibernation auto-response; a ping with an `id` gets `{type: "pong", id}`.
 * - Any frame that fails gets `error {code, message, id?}`; the socket stays open.
 *
 * ## Consumers (subscription sockets)
 * - Credit: the server pushes `message` / `messages` frames while the messages delivered on
 *   this socket and not yet settled (acked, nacked, lease expired) are fewer than its
 *   `maxInFlight`. It starts at `?maxInFlight=` from the socket URL when given (so a
 *   consumer that wants 1 never receives 100 before its first frame arrives), else at
 *   {@link DEFAULT_MAX_IN_FLIGHT}; `flow {maxInFlight}` changes it at any time, 0 pauses.
 * - Delivered messages carry `attempt` and `leaseExpiresAt`. When a consumer socket closes,
 *   the messages delivered on it and still unsettled are released for redelivery at once
 *   (to the other consumers, or to the same client once it reconnects). Acks are by seq
 *   and do not check who holds the lease: a message can still be acked over another
 *   socket, or over HTTP, until it is redelivered and acked there.
 * - Live-tail sockets refuse `ack`, `nack`, `extend` and `flow` with `invalid_request`.
 *
 * ## Live tail
 * - Without `after` the stream starts at the tail (only new messages); `hello.after` says
 *   where it starts so a client can resume gap-free even if no message came before a
 *   disconnect. With `after` it replays the retained backlog with greater seqs, then live.
 * - With `epoch` and a topic whose epoch differs (deleted and re-created), the server sends
 *   `hello` and closes with 4002 instead of replaying: the seq means nothing any more.
 *
 * ## Closing
 * Codes and reasons: {@link CLOSE_CODES}, {@link closeReason}. Every close is answered.
 */
import { z } from "zod";
import type { PublishInput } from "../topic/types";
import { ERROR_CODES, type ErrorCode, type Failure, fail, type Result } from "./errors";
import { ackSchema, batchSchema, extendSchema, nackSchema, parseInput } from "./http";
import { LIMITS } from "./limits";
import type { WireMessage } from "./message";
import type * as F from "./ws-frames";
import { MAX_IN_FLIGHT } from "./ws-frames";

export * from "./ws-frames";

// ---------------------------------------------------------------------------------------
// client → server: an envelope (`type`, `id`) around the same bodies as the HTTP API, so a
// frame and its HTTP twin accept exactly the same input and say the same things about it.

/** One entry of `POST /batch`: a `publish` frame is that entry plus `type` and `id`. */
const publishEntrySchema = batchSchema.shape.messages.element;

const flowSchema = z.strictObject({
  maxInFlight: z
    .number({ error: `must be an integer between 0 and ${MAX_IN_FLIGHT}` })
    .int({ error: `must be an integer between 0 and ${MAX_IN_FLIGHT}` })
    .min(0, { error: `must be an integer between 0 and ${MAX_IN_FLIGHT}` })
    .max(MAX_IN_FLIGHT, { error: `must be an integer between 0 and ${MAX_IN_FLIGHT}` }),
});

/** The schema of each client frame's fields other than `type` and `id`. */
export const CLIENT_FRAME_BODIES = {
  ack: ackSchema,
  nack: nackSchema,
  extend: extendSchema,
  flow: flowSchema,
  publish: publishEntrySchema,
  ping: z.strictObject({}),
} as const;

type Body<T extends keyof typeof CLIENT_FRAME_BODIES> = z.output<(typeof CLIENT_FRAME_BODIES)[T]>;
type Envelope<T extends string> = { type: T; id?: string };

/** A client frame after validation: durations in ms, a publish turned into a stored body. */
export type ParsedClientFrame =
  | (Envelope<"ack"> & Body<"ack">)
  | (Envelope<"nack"> & Body<"nack">)
  | (Envelope<"extend"> & Body<"extend">)
  | (Envelope<"flow"> & Body<"flow">)
  | (Envelope<"publish"> & { message: PublishInput })
  | Envelope<"ping">;

/** A failed frame, with the request `id` when one could be read so the `error` frame can echo it. */
export type FrameFailure = Failure & { id?: string };

const MAX_ID_LENGTH = 128;
const encoder = new TextEncoder();
const utf8Length = (text: string): number => encoder.encode(text).byteLength;

/**
 * Validates one text frame from a client. Failures carry a stable code
 * (`invalid_request`, or `payload_too_large` for an oversized frame or body) and a
 * sentence naming the field, ready for an `error` frame.
 *
 * @example
 * const parsed = parseClientFrame(text);
 * if (!parsed.ok) ws.send(JSON.stringify({ type: "error", code: parsed.code, message: parsed.detail, id: parsed.id }));
 * else if (parsed.value.type === "ack") topic.ack(subscription, parsed.value.seqs);
 */
export function parseClientFrame(text: string): { ok: true; value: ParsedClientFrame } | FrameFailure {
  // The limit is in bytes: a character takes up to 3 bytes of UTF-8 (4 for a surrogate pair, which
  // counts 2 in `length`), so only text past a third of the limit needs measuring.
  if (
    text.length > LIMITS.frameBytes ||
    (text.length * 3 > LIMITS.frameBytes && utf8Length(text) > LIMITS.frameBytes)
  ) {
    return fail("payload_too_large", `a frame must be at most ${LIMITS.frameBytes} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail("invalid_request", "the frame is not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail("invalid_request", "a frame must be a JSON object with a string `type`");
  }
  const { type, id, ...fields } = json as Record<string, unknown>;
  const echo = typeof id === "string" && id.length > 0 && id.length <= MAX_ID_LENGTH ? id : undefined;
  const failure = (code: ErrorCode, detail: string): FrameFailure =>
    echo === undefined ? fail(code, detail) : { ...fail(code, detail), id: echo };
  if (typeof type !== "string") return failure("invalid_request", "a frame must have a string `type`");
  if (!Object.hasOwn(CLIENT_FRAME_BODIES, type)) {
    const known = Object.keys(CLIENT_FRAME_BODIES).join(", ");
    return failure("invalid_request", `unknown frame type "${type.slice(0, 32)}"; expected one of ${known}`);
  }
  if (id !== undefined && echo === undefined) {
    return failure(
      "invalid_request",
      `${type} frame: id must be a string of 1 to ${MAX_ID_LENGTH} characters`,
    );
  }
  const kind = type as keyof typeof CLIENT_FRAME_BODIES;
  const root = `${kind} frame`;
  const body = parseInput(CLIENT_FRAME_BODIES[kind], fields, root);
  if (!body.ok) {
    const detail = body.detail.startsWith(root) ? body.detail : `${root}: ${body.detail}`;
    return failure(body.code, detail);
  }
  const envelope = echo === undefined ? { type: kind } : { type: kind, id: echo };
  const value = kind === "publish" ? { ...envelope, message: body.value } : { ...envelope, ...body.value };
  return { ok: true, value: value as ParsedClientFrame };
}

// ---------------------------------------------------------------------------------------
// server → client (the server builds these from typed values; the schemas serve tests
// and any tool that wants to validate a stream)

const errorCode = z.enum(ERROR_CODES);

export const WireMessageSchema = z.object({
  seq: z.number().int().positive(),
  id: z.string(),
  publishedAt: z.number(),
  contentType: z.string(),
  attributes: z.record(z.string(), z.string()),
  key: z.string().optional(),
  attempt: z.number().int().positive().optional(),
  leaseExpiresAt: z.number().optional(),
  data: z.unknown().optional(),
  dataBase64: z.string().optional(),
});

export const HelloFrameSchema = z.strictObject({
  type: z.literal("hello"),
  topic: z.string(),
  subscription: z.string().optional(),
  epoch: z.string(),
  session: z.string(),
  version: z.string(),
  after: z.number().int().min(0).optional(),
});
export const MessageFrameSchema = z.strictObject({ type: z.literal("message"), message: WireMessageSchema });
export const MessagesFrameSchema = z.strictObject({
  type: z.literal("messages"),
  messages: z.array(WireMessageSchema),
});
export const PublishedFrameSchema = z.strictObject({
  type: z.literal("published"),
  id: z.string().optional(),
  seq: z.number().int().positive(),
  messageId: z.string(),
  duplicate: z.boolean(),
});
export const OkFrameSchema = z.strictObject({ type: z.literal("ok"), id: z.string() });
export const ErrorFrameSchema = z.strictObject({
  type: z.literal("error"),
  code: errorCode,
  message: z.string(),
  id: z.string().optional(),
});
export const PongFrameSchema = z.strictObject({ type: z.literal("pong"), id: z.string().optional() });

export const ServerFrameSchema = z.discriminatedUnion("type", [
  HelloFrameSchema,
  MessageFrameSchema,
  MessagesFrameSchema,
  PublishedFrameSchema,
  OkFrameSchema,
  ErrorFrameSchema,
  PongFrameSchema,
]);

/**
 * Validates one text frame from the server (tests, tools).
 *
 * @example
 * const frame = parseServerFrame(event.data);
 * if (frame.ok && frame.value.type === "hello") console.log(frame.value.epoch);
 */
export function parseServerFrame(text: string): Result<F.ServerFrame> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail("invalid_request", "the frame is not valid JSON");
  }
  return parseInput(ServerFrameSchema, json, "server frame");
}

// ---------------------------------------------------------------------------------------
// The schemas and the plain types of ./ws-frames.ts must describe the same frames: these
// aliases fail to compile when one side changes without the other.

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;

export type _FramesMatchSchemas = [
  Expect<Same<Body<"ack">, Omit<F.AckFrame, "type" | "id">>>,
  Expect<Same<Body<"nack">, { seqs: number[]; delay?: number }>>,
  Expect<Same<Body<"extend">, { seqs: number[]; ackTimeout?: number }>>,
  Expect<Same<Body<"flow">, Omit<F.FlowFrame, "type" | "id">>>,
  Expect<Same<Body<"publish">, PublishInput>>,
  Expect<Same<z.output<typeof WireMessageSchema>, WireMessage>>,
  Expect<Same<z.output<typeof HelloFrameSchema>, F.HelloFrame>>,
  Expect<Same<z.output<typeof PublishedFrameSchema>, F.PublishedFrame>>,
  Expect<Same<z.output<typeof ErrorFrameSchema>, F.ErrorFrame>>,
  Expect<Same<z.output<typeof ServerFrameSchema>, F.ServerFrame>>,
  Expect<Same<z.output<typeof errorCode>, ErrorCode>>,
];
