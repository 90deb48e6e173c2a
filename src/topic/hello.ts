import { VERSION } from "../protocol/version";
import type { ServerFrame } from "../protocol/ws-frames";
import type { SocketState } from "./open-sockets";

/**
 * The first frame of a socket, and the second of a live tail that waited for its topic: where
 * the stream stands, in which epoch (`null` while the topic does not exist).
 *
 * @example
 * sockets.send(ws, helloFrame("orders", state, meta?.epoch ?? null));
 */
export function helloFrame(topic: string, state: SocketState, epoch: string | null): ServerFrame {
  return {
    type: "hello",
    topic,
    ...(state.subscription === undefined ? { after: state.lastSent } : { subscription: state.subscription }),
    epoch,
    session: state.session,
    version: VERSION,
  };
}
