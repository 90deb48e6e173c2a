import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { ErrorCode, Problem } from "../../src/protocol/errors";
import type { WireMessage } from "../../src/protocol/message";
import { topicStub } from "./helpers";

export interface CallInit {
  /** Sent as a JSON body (with `Content-Type: application/json`). */
  json?: unknown;
  body?: BodyInit | null;
  headers?: Record<string, string>;
}

/** One request to the worker, the way a client sends it. */
export function call(method: string, path: string, init: CallInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  let body = init.body ?? null;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return exports.default.fetch(new Request(`http://broker${path}`, { method, headers, body }));
}

/** Asserts a problem+json answer with this status and code, and returns the problem. */
export async function expectProblem(res: Response, status: number, code: ErrorCode): Promise<Problem> {
  const text = await res.text();
  expect({ status: res.status, body: text }).toMatchObject({ status });
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const problem = JSON.parse(text) as Problem;
  expect(problem).toMatchObject({ status, code, type: `https://edge-broker.dev/errors/${code}` });
  expect(problem.title).toEqual(expect.any(String));
  expect(problem.detail).toEqual(expect.any(String));
  return problem;
}

/** Asserts a JSON answer with this status and returns its body. */
export async function expectJson<T = Record<string, unknown>>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect({ status: res.status, body: text }).toMatchObject({ status });
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return JSON.parse(text) as T;
}

/** True when the topic exists: the proof that a refused request wrote nothing. */
export async function topicExists(topic: string): Promise<boolean> {
  const info = await topicStub(topic).info();
  if (!info.ok) expect(info.code).toBe("not_found");
  return info.ok;
}

/** Every message of the topic, read over HTTP. */
export async function readAll(topic: string): Promise<WireMessage[]> {
  const page = await expectJson<{ messages: WireMessage[] }>(
    await call("GET", `/v1/topics/${topic}/messages?limit=1000`),
    200,
  );
  return page.messages;
}

/** A body that arrives in `chunks` chunks with no Content-Length; `pulled()` counts what was read. */
export function chunkedBody(
  chunks: number,
  chunkBytes: number,
): { body: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled === chunks) {
          controller.close();
          return;
        }
        pulled++;
        controller.enqueue(new Uint8Array(chunkBytes).fill(pulled % 256));
      },
    },
    // No read-ahead: a chunk is produced only when the reader asks, so `pulled` counts what was read.
    { highWaterMark: 0 },
  );
  return { body, pulled: () => pulled };
}
