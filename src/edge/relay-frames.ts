import type { ErrorCode, Result } from "../protocol/errors";
import { fail } from "../protocol/errors";
import type { PublishInput, PublishReceipt } from "../protocol/topic-rpc";
import { CLOSE_CODES, type ServerFrame } from "../protocol/ws-frames";
import { parseClientFrame } from "../protocol/ws-schemas";
import type { HeldSocket } from "./held-sockets";

/** What frame handling on a relay's socket needs from the relay. */
export interface EdgeFrameTarget {
  send(ws: WebSocket, frame: ServerFrame): void;
  refuse(ws: WebSocket, closeCode: number, code: ErrorCode, detail: string): void;
  /** Publishes through the topic, which spends the client's publish budget as for its own sockets. */
  publish(state: HeldSocket, message: PublishInput): Promise<Result<PublishReceipt[]>>;
}

/**
 * One client frame on a live tail a relay holds: the frames a live tail on the topic's own
 * socket takes (DESIGN.md §5), answered alike — `ping`, `publish`, and an `error` for settling
 * frames, which a live tail has nothing to settle with.
 */
export async function handleEdgeFrame(
  target: EdgeFrameTarget,
  ws: WebSocket,
  state: HeldSocket,
  data: string | ArrayBuffer,
): Promise<void> {
  if (typeof data !== "string") {
    const detail = "frames are JSON text; binary frames are not accepted";
    return target.refuse(ws, CLOSE_CODES.INVALID_FRAME, "invalid_request", detail);
  }
  const parsed = parseClientFrame(data);
  if (!parsed.ok) {
    if (parsed.code === "payload_too_large") {
      return target.refuse(ws, CLOSE_CODES.TOO_BIG, "payload_too_large", parsed.detail);
    }
    target.send(ws, { type: "error", code: parsed.code, message: parsed.detail, ...idOf(parsed) });
    return;
  }
  const frame = parsed.value;
  const id = idOf(frame);
  if (frame.type === "ping") return target.send(ws, { type: "pong", ...id });
  let result: Result<PublishReceipt[]>;
  if (frame.type === "publish") {
    result = state.canPublish
      ? await target.publish(state, frame.message)
      : fail("forbidden", "this token has no publish right on the topic");
  } else {
    result = fail(
      "invalid_request",
      `${frame.type} frames are for subscription sockets; a live tail has nothing to settle`,
    );
  }
  if (!result.ok) {
    target.send(ws, { type: "error", code: result.code, message: result.detail, ...id });
    return;
  }
  const receipt = result.value[0] as PublishReceipt;
  target.send(ws, {
    type: "published",
    ...id,
    seq: receipt.seq,
    messageId: receipt.id,
    duplicate: receipt.duplicate,
  });
}

const idOf = (frame: { id?: string }) => (frame.id === undefined ? {} : { id: frame.id });
