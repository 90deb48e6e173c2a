/**
 * The WebSocket protocol `edge-broker.v1`: zod schemas of every frame and the one parser the
 * server uses for what clients send. The frames, replies and close codes are listed in the
 * README ("WebSocket protocol") and their semantics in DESIGN.md §5; the plain types and
 * constants live in `./ws-frames.ts` (no runtime dependency, shared with the client SDK) and are
 * re-exported here. A client frame and its HTTP twin (a `publish` frame and one `POST /batch`
 * entry, `ack` and `POST …/ack`) are validated by the same schema, so they accept the same input
 * and say the same things about it.
 */
import { z } from "zod";
import { ERROR_CODES, type ErrorCode, type Failure, fail, type Result } from "./errors";
import { batchSchema, parseInput } from "./http";
import { ackSchema, extendSchema, nackSchema } from "./http-consumers";
import { LIMITS } from "./limits";
import type { WireMessage } from "./message";
import { replyFrameSchema, requestFrameSchema } from "./requests";
import type { PublishInput } from "./topic-rpc";
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
  request: requestFrameSchema,
  reply: replyFrameSchema,
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
  | Envelope<"ping">
  | (Envelope<"request"> & Body<"request">)
  | (Envelope<"reply"> & Body<"reply">);

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
  deliverAt: z.number().optional(),
  attempt: z.number().int().positive().optional(),
  leaseExpiresAt: z.number().optional(),
  replyTo: z.string().optional(),
  correlationId: z.string().optional(),
  data: z.unknown().optional(),
  dataBase64: z.string().optional(),
});

export const HelloFrameSchema = z.strictObject({
  type: z.literal("hello"),
  topic: z.string().optional(),
  subscription: z.string().optional(),
  epoch: z.string().nullable().optional(),
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
  closeCode: z.number().int().optional(),
  errors: z
    .array(z.object({ index: z.number().int().min(0).optional(), path: z.string(), reason: z.string() }))
    .optional(),
});
export const PongFrameSchema = z.strictObject({ type: z.literal("pong"), id: z.string().optional() });
export const ReplyMessageFrameSchema = z.strictObject({
  type: z.literal("reply"),
  id: z.string().optional(),
  message: WireMessageSchema.omit({ seq: true, attempt: true, leaseExpiresAt: true, deliverAt: true }),
});

export const ServerFrameSchema = z.discriminatedUnion("type", [
  HelloFrameSchema,
  MessageFrameSchema,
  MessagesFrameSchema,
  PublishedFrameSchema,
  OkFrameSchema,
  ErrorFrameSchema,
  PongFrameSchema,
  ReplyMessageFrameSchema,
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
  Expect<Same<Body<"nack">, { seqs: number[]; delay?: number; epoch?: string }>>,
  Expect<Same<Body<"extend">, { seqs: number[]; ackTimeout?: number; epoch?: string }>>,
  Expect<Same<Body<"flow">, Omit<F.FlowFrame, "type" | "id">>>,
  Expect<Same<Body<"publish">, PublishInput>>,
  Expect<Same<Body<"request">, { message: PublishInput; timeout: number }>>,
  Expect<Same<Body<"reply">, { replyTo: string; message: PublishInput }>>,
  Expect<Same<z.output<typeof WireMessageSchema>, WireMessage>>,
  Expect<Same<z.output<typeof HelloFrameSchema>, F.HelloFrame>>,
  Expect<Same<z.output<typeof PublishedFrameSchema>, F.PublishedFrame>>,
  Expect<Same<z.output<typeof ErrorFrameSchema>, F.ErrorFrame>>,
  Expect<Same<z.output<typeof ReplyMessageFrameSchema>, F.ReplyMessageFrame>>,
  Expect<Same<z.output<typeof ServerFrameSchema>, F.ServerFrame>>,
  Expect<Same<z.output<typeof errorCode>, ErrorCode>>,
];
