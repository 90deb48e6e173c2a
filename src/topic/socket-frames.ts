import { fail, type Result } from "../protocol/errors";
import type { ReplyMessage } from "../protocol/message";
import type { AckInput, ExtendInput, NackInput, PublishInput, PublishReceipt } from "../protocol/topic-rpc";
import { CLOSE_CODES, type ServerFrame } from "../protocol/ws-frames";
import { type ParsedClientFrame, parseClientFrame } from "../protocol/ws-schemas";
import type { SocketState } from "./open-sockets";

/** What frame handling needs from the topic. */
export interface FrameTarget {
  ack(subscription: string, input: AckInput): Result<unknown>;
  nack(subscription: string, input: NackInput): Result<unknown>;
  extend(subscription: string, input: ExtendInput): Result<unknown>;
  flow(ws: WebSocket, state: SocketState, maxInFlight: number): void;
  publish(message: PublishInput, state: SocketState): Promise<Result<PublishReceipt[]>>;
  /** Publishes a request and waits for its first reply (./socket-requests.ts). */
  request(
    ws: WebSocket,
    message: PublishInput,
    timeout: number,
    state: SocketState,
  ): Promise<Result<ReplyMessage>>;
  /** Hands a reply to the inbox a request named. */
  reply(replyTo: string, message: PublishInput): Promise<Result<unknown>>;
  send(ws: WebSocket, frame: ServerFrame): void;
  close(
    ws: WebSocket,
    closeCode: number,
    code: "payload_too_large" | "invalid_request",
    detail: string,
  ): void;
}

/**
 * Handles one client frame on a socket (DESIGN.md §5). Failures are answered
 * with an `error` frame and the socket stays open; a frame too large to read
 * closes it with 1009, a binary frame with 4400.
 */
export async function handleFrame(
  target: FrameTarget,
  ws: WebSocket,
  state: SocketState,
  data: string | ArrayBuffer,
): Promise<void> {
  if (typeof data !== "string") {
    target.close(
      ws,
      CLOSE_CODES.INVALID_FRAME,
      "invalid_request",
      "frames are JSON text; binary frames are not accepted",
    );
    return;
  }
  const parsed = parseClientFrame(data);
  if (!parsed.ok) {
    if (parsed.code === "payload_too_large") {
      target.close(ws, CLOSE_CODES.TOO_BIG, "payload_too_large", parsed.detail);
      return;
    }
    target.send(ws, { type: "error", code: parsed.code, message: parsed.detail, ...idOf(parsed) });
    return;
  }
  const frame = parsed.value;
  const result = await dispatch(target, ws, state, frame);
  if (!result.ok) {
    const errors = result.errors === undefined ? {} : { errors: result.errors };
    target.send(ws, { type: "error", code: result.code, message: result.detail, ...idOf(frame), ...errors });
  }
}

const idOf = (frame: { id?: string }) => (frame.id === undefined ? {} : { id: frame.id });

async function dispatch(
  target: FrameTarget,
  ws: WebSocket,
  state: SocketState,
  frame: ParsedClientFrame,
): Promise<Result<unknown>> {
  const ok = (): Result<unknown> => {
    if (frame.id !== undefined) target.send(ws, { type: "ok", id: frame.id });
    return { ok: true, value: null };
  };
  switch (frame.type) {
    case "ping":
      target.send(ws, { type: "pong", ...idOf(frame) });
      return { ok: true, value: null };
    case "publish": {
      if (!state.canPublish) return fail("forbidden", "this token has no publish right on the topic");
      const result = await target.publish(frame.message, state);
      if (!result.ok) return result;
      const receipt = result.value[0] as PublishReceipt;
      target.send(ws, {
        type: "published",
        ...idOf(frame),
        seq: receipt.seq,
        messageId: receipt.id,
        duplicate: receipt.duplicate,
      });
      return { ok: true, value: null };
    }
    case "request": {
      if (!state.canPublish) return fail("forbidden", "this token has no publish right on the topic");
      const result = await target.request(ws, frame.message, frame.timeout, state);
      if (!result.ok) return result;
      target.send(ws, { type: "reply", ...idOf(frame), message: result.value });
      return { ok: true, value: null };
    }
    case "reply": {
      const result = await target.reply(frame.replyTo, frame.message);
      return result.ok ? ok() : result;
    }
  }
  const subscription = state.subscription;
  if (state.kind !== "consumer" || subscription === undefined) {
    return fail(
      "invalid_request",
      `${frame.type} frames are for subscription sockets; a live tail has nothing to settle`,
    );
  }
  let result: Result<unknown>;
  switch (frame.type) {
    case "ack": {
      const { type: _, id: __, ...input } = frame;
      result = target.ack(subscription, input);
      break;
    }
    case "nack": {
      const { type: _, id: __, ...input } = frame;
      result = target.nack(subscription, input);
      break;
    }
    case "extend": {
      const { type: _, id: __, ...input } = frame;
      result = target.extend(subscription, input);
      break;
    }
    case "flow":
      target.flow(ws, state, frame.maxInFlight);
      result = { ok: true, value: null };
      break;
  }
  return result.ok ? ok() : result;
}
