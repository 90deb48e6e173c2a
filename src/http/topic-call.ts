type TopicStub = ReturnType<Env["TOPIC"]["getByName"]>;

/** Longest pause before the second try, ms (full jitter below it). */
const RETRY_PAUSE_MS = 100;

/**
 * A failure the runtime marks `retryable` and not `overloaded`: the object was reset or moved
 * while the call ran. The runtime already retries calls that never reached the object; this is
 * about the ones that did.
 * https://developers.cloudflare.com/durable-objects/best-practices/error-handling/
 */
function isRetryable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { retryable, overloaded } = error as { retryable?: unknown; overloaded?: unknown };
  return retryable === true && overloaded !== true;
}

/**
 * Calls the topic's object, and calls it once more, on a fresh stub after a short pause, when
 * the call failed as retryable and running it twice is harmless (`idempotent`: reads, config,
 * acks, publishes whose every message has an idempotency key). A publish without keys or a pull
 * is never repeated behind the client's back: it could store or lease twice.
 *
 * @example
 * const info = await callTopic(c.env, topic, (stub) => stub.info());
 * const receipts = await callTopic(c.env, topic, (stub) => stub.publish(messages), { idempotent: keyed });
 */
export async function callTopic<R>(
  env: Pick<Env, "TOPIC">,
  topic: string,
  call: (stub: TopicStub) => R,
  options: { idempotent?: boolean } = {},
): Promise<Awaited<R>> {
  try {
    return await call(env.TOPIC.getByName(topic));
  } catch (error) {
    if (options.idempotent === false || !isRetryable(error)) throw error;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_PAUSE_MS));
    return await call(env.TOPIC.getByName(topic));
  }
}
