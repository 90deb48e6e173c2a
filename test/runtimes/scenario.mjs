/**
 * What every runtime proves with the built SDK (dist/client, `npm run build:client`): a consumer
 * of a subscription and a live tail of one topic receive every message published over HTTP,
 * across a dropped connection, each exactly once and in order.
 *
 * Web APIs only (fetch, WebSocket, timers, console), so Node, Deno and Bun run the same code;
 * each runtime's entry file (node.mjs, deno.mjs, bun.mjs) reads its settings and exits in its
 * own way. scripts/check-runtimes.mjs runs them against a real broker, publishes, and crashes
 * and restarts the broker meanwhile. It reads these lines from standard output:
 *
 *   open                 the subscription and the tail are both connected
 *   have <n>             both have received (and the consumer has acked) the first n messages
 *   lost <subscription|tail>   its connection dropped (printed once each)
 *   ok <summary> | fail <reason>
 */
import { Broker } from "../../dist/client/index.js";

/**
 * Runs the scenario; resolves to true when everything arrived as it should.
 *
 * @example
 * const passed = await run({ url: "http://127.0.0.1:8787", topic: "t-1", count: 6 });
 */
export async function run({ url, topic, count, timeoutMs = 60_000, log = console.log }) {
  const broker = new Broker({ url });
  // Quick retries: the broker is back within seconds, and the check should not wait for the default 30 s.
  const reconnect = { min: 100, max: 1_000 };
  const readers = {
    subscription: broker.subscribe(topic, "runtime-check", { create: { startAt: "earliest" }, reconnect }),
    tail: broker.live(topic, { after: 0, reconnect }),
  };
  const received = { subscription: [], tail: [] };
  const lost = { subscription: 0, tail: 0 };
  const open = new Set();
  let reported = 0;

  for (const [name, reader] of Object.entries(readers)) {
    reader.addEventListener("status", (event) => {
      const { status } = event;
      if (status.type === "open" && !open.has(name)) {
        open.add(name);
        if (open.size === 2) log("open");
      }
      if (status.type === "reconnecting" && lost[name]++ === 0) log(`lost ${name}`);
    });
  }
  const progress = () => {
    const have = Math.min(received.subscription.length, received.tail.length);
    if (have > reported) {
      reported = have;
      log(`have ${have}`);
    }
    return have >= count;
  };

  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve("timed out"), timeoutMs);
  });
  const done = new Promise((resolve, reject) => {
    const consume = async (name, handle) => {
      try {
        for await (const message of readers[name]) {
          received[name].push({ seq: message.seq, text: message.text(), attempt: message.attempt });
          await handle(message);
          if (progress()) resolve("done");
        }
      } catch (error) {
        reject(error);
      }
    };
    void consume("subscription", async (message) => {
      message.ack();
      // Counted only once the broker has confirmed the ack, so a crash after `have n` loses no ack.
      await readers.subscription.flush();
    });
    void consume("tail", async () => {});
  });

  let outcome;
  try {
    outcome = await Promise.race([done, timedOut]);
  } catch (error) {
    outcome = `ended: ${error.message}`;
  } finally {
    clearTimeout(timer);
    await readers.subscription.close();
    readers.tail.close();
  }

  const expected = Array.from({ length: count }, (_, i) => i + 1);
  const problems = [];
  if (outcome !== "done") problems.push(outcome);
  for (const name of ["subscription", "tail"]) {
    const seqs = received[name].map((m) => m.seq);
    if (JSON.stringify(seqs) !== JSON.stringify(expected)) problems.push(`${name} got seqs [${seqs}]`);
    const texts = received[name].map((m) => m.text);
    if (JSON.stringify(texts) !== JSON.stringify(expected.map((n) => `message ${n}`)))
      problems.push(`${name} got bodies ${JSON.stringify(texts)}`);
    if (lost[name] === 0) problems.push(`${name} never saw its connection drop`);
  }
  const redelivered = received.subscription.filter((m) => m.attempt !== 1).length;
  if (redelivered > 0) problems.push(`${redelivered} redelivered although every ack was confirmed`);

  if (problems.length > 0) {
    log(`fail ${problems.join("; ")}`);
    return false;
  }
  log(
    `ok ${count} messages to the subscription and the tail, after ${lost.subscription} + ${lost.tail} reconnect attempts`,
  );
  return true;
}
