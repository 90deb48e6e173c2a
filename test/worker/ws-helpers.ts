import type { WireMessage } from "../../src/protocol/message";
import type { ServerFrame } from "../../src/protocol/ws-frames";
import { type UpgradeOptions, upgradeRequest } from "../../src/topic/upgrade";
import { topicStub } from "./helpers";

/** A client socket opened straight on a topic object, recording every frame it receives. */
export interface TestSocket {
  ws: WebSocket;
  frames: ServerFrame[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the frames once `predicate` holds, or rejects after `ms`. */
  until(predicate: (frames: ServerFrame[]) => boolean, ms?: number): Promise<ServerFrame[]>;
  messages(): WireMessage[];
  send(frame: object): void;
}

export async function openSocket(topic: string, options: Partial<UpgradeOptions> = {}): Promise<TestSocket> {
  const request = upgradeRequest(
    new Request("https://broker/ws", {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "edge-broker.v1" },
    }),
    { topic, canPublish: true, ...options },
  );
  const response = await topicStub(topic).fetch(request);
  const ws = response.webSocket;
  if (!ws) throw new Error(`no WebSocket in the answer (status ${response.status})`);
  ws.accept();
  const frames: ServerFrame[] = [];
  const listeners = new Set<() => void>();
  ws.addEventListener("message", (event) => {
    frames.push(JSON.parse(event.data as string));
    for (const listener of listeners) listener();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
  );
  return {
    ws,
    frames,
    closed,
    until(predicate, ms = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(frames)) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(frames);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out; frames so far: ${JSON.stringify(frames).slice(0, 500)}`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
    messages() {
      return frames.flatMap((f) =>
        f.type === "message" ? [f.message] : f.type === "messages" ? f.messages : [],
      );
    },
    send(frame) {
      ws.send(JSON.stringify(frame));
    },
  };
}

export const countMessages = (n: number) => (frames: ServerFrame[]) =>
  frames.reduce(
    (sum, f) => sum + (f.type === "message" ? 1 : f.type === "messages" ? f.messages.length : 0),
    0,
  ) >= n;
