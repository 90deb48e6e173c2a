/**
 * WebSocket clients for the delivery scenarios (Node's built-in WebSocket), opened in bounded
 * parallel batches and closed together, every wait bounded in time.
 */
import { setTimeout as sleep } from "node:timers/promises";

const OPEN_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 5_000;
/** Sockets opened at once: a thousand handshakes at a time would measure the accept queue. */
const OPEN_PARALLEL = 50;

/**
 * Opens one socket and resolves once it is ready: at its first frame when the server speaks
 * first (`readyOnFirstFrame`), else once open. Rejects on close, error or timeout before that.
 *
 * @param {string} url
 * @param {{ protocols: string[], readyOnFirstFrame: boolean, onFrame: (text: string, ws: WebSocket) => void }} options
 */
export function openSocket(url, { protocols, readyOnFirstFrame, onFrame }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    let ready = false;
    const timer = setTimeout(
      () => fail(new Error(`no ${readyOnFirstFrame ? "hello" : "open"} within 15 s`)),
      OPEN_TIMEOUT_MS,
    );
    function fail(error) {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      try {
        ws.close();
      } catch {
        // never opened
      }
      reject(error);
    }
    function succeed() {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      resolve(ws);
    }
    ws.addEventListener("open", () => {
      if (!readyOnFirstFrame) succeed();
    });
    ws.addEventListener("message", (event) => {
      const text = typeof event.data === "string" ? event.data : "";
      if (!ready && readyOnFirstFrame) {
        if (text.includes('"type":"error"')) return fail(new Error(`refused: ${text.slice(0, 200)}`));
        succeed();
      }
      onFrame(text, ws);
    });
    ws.addEventListener("error", () => fail(new Error(`WebSocket error on ${url}`)));
    ws.addEventListener("close", (event) => fail(new Error(`closed ${event.code} ${event.reason}`)));
  });
}

/** Opens `count` sockets, OPEN_PARALLEL at a time; closes the ones opened if any fails. */
export async function openSockets(count, open) {
  const sockets = [];
  try {
    for (let first = 0; first < count; first += OPEN_PARALLEL) {
      const batch = Array.from({ length: Math.min(OPEN_PARALLEL, count - first) }, (_, k) => open(first + k));
      sockets.push(...(await Promise.all(batch)));
    }
  } catch (error) {
    await closeSockets(sockets);
    throw error;
  }
  return sockets;
}

/** Closes sockets and waits (bounded) for their close handshakes. */
export async function closeSockets(sockets) {
  const closed = sockets.map(
    (ws) =>
      new Promise((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.addEventListener("close", () => resolve());
        try {
          ws.close(1000);
        } catch {
          resolve();
        }
      }),
  );
  await Promise.race([Promise.all(closed), sleep(CLOSE_TIMEOUT_MS)]);
}

/** Waits until `done()` is true, polling, for at most `timeoutMs`; returns whether it became true. */
export async function waitUntil(done, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}
