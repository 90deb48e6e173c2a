import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { Result } from "../../src/protocol/errors";
import type { PublishInput } from "../../src/protocol/topic-rpc";
import type { Topic } from "../../src/topic/topic";

/** A fresh topic name per test, so tests never share state. */
export const freshTopic = (prefix = "t") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/** The topic's RPC methods as the class declares them, every one async across the stub. */
type RpcMethods = Exclude<keyof Topic, "fetch" | "alarm" | `webSocket${string}` | "ctx" | "env">;
type TopicRpc = {
  [K in RpcMethods]: Topic[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

/**
 * A stub of the topic's object. The runtime's stub types map `unknown` payloads
 * (a message's `data`) to `never`; tests want the declared types instead.
 */
export const topicStub = (name: string) =>
  env.TOPIC.getByName(name) as unknown as TopicRpc & Pick<DurableObjectStub<Topic>, "fetch" | "id" | "name">;

type Success<R> = R extends { ok: true; value: infer T } ? T : never;

/**
 * Unwraps an expected success, failing the test with the broker's detail otherwise.
 * Generic over the result's shape because RPC stubs re-type what they return.
 */
export function unwrap<R extends { ok: boolean }>(result: R): Success<R> {
  const r = result as unknown as Result<Success<R>>;
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${r.detail}`);
  return r.value;
}

const encoder = new TextEncoder();

export const text = (body: string, extra: Partial<PublishInput> = {}): PublishInput => ({
  body: encoder.encode(body),
  contentType: "text/plain",
  attributes: {},
  ...extra,
});

/** Runs SQL inside the object, for tests that move time by editing due times. */
export function sqlIn<T extends Record<string, SqlStorageValue>>(
  name: string,
  query: string,
  ...bindings: (string | number | null)[]
): Promise<T[]> {
  return runInDurableObject(topicStub(name), (_instance: Topic, state) =>
    state.storage.sql.exec<T>(query, ...bindings).toArray(),
  );
}

/**
 * Makes every lease of the topic expire now (instead of waiting for the ack timeout). The object
 * mirrors its leases in memory, so it is evicted after the edit: SQLite is the truth, and an
 * object rebuilds its memory from it, exactly as after a real eviction.
 */
export async function expireLeases(name: string): Promise<void> {
  await sqlIn(name, "UPDATE leases SET expires_at = 0");
  await evictDurableObject(topicStub(name));
}

/** Makes every waiting retry of the topic due now (instead of waiting out the backoff). */
export const dueRetries = (name: string) =>
  sqlIn(name, "UPDATE retries SET available_at = 1 WHERE available_at IS NOT NULL AND available_at > 0");

/**
 * Waits until `check` holds, trying up to `tries` times with a short pause in between (a count,
 * not a clock: inside the runtime the clock only moves across I/O).
 */
export async function eventually(check: () => Promise<boolean>, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the condition did not hold after ${tries} tries`);
}

/** How many long-polls are parked on the topic now. */
export async function parkedLongPolls(name: string): Promise<number> {
  const info = await topicStub(name).info();
  return info.ok ? info.value.stats.longPolls : 0;
}
