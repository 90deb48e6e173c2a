import type { ErrorCode } from "../protocol/errors";
import { closeReason } from "../protocol/ws-frames";
import { echoSubprotocol } from "../protocol/ws-handshake";

/**
 * A refused WebSocket upgrade, told on the socket: a browser cannot read the status of
 * a refused handshake, only a close code, so an HTTP 401/403/429 would look like a
 * network failure. The socket is accepted (echoing the offered subprotocol, or the
 * browser fails the handshake itself), sent one `error` frame, and closed with
 * `closeCode` and the reason `<code>: <detail>`. It is opened in the worker: no topic
 * ever sees the request.
 *
 * @example
 * return refuseSocket(c.req.raw, CLOSE_CODES.POLICY, "forbidden", "this token cannot subscribe here");
 */
export function refuseSocket(request: Request, closeCode: number, code: ErrorCode, detail: string): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  server.send(JSON.stringify({ type: "error", code, message: detail }));
  server.close(closeCode, closeReason(code, detail));
  const protocol = echoSubprotocol(request);
  return new Response(null, {
    status: 101,
    webSocket: client,
    headers: protocol === null ? {} : { "Sec-WebSocket-Protocol": protocol },
  });
}
