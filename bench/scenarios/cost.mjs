/**
 * Scenario 5: what a message costs in the units Durable Objects bill by: SQLite rows written
 * (and read) and requests to the object, from the topic's own `usage` counters.
 *
 * Each case runs on a fresh topic: publish N messages (single-message requests one at a time, or
 * batches of 100), with or without one subscription whose consumer socket acks every frame. The
 * difference between the two is what delivery and acks add. Usage is read once everything is
 * acked: a `ping` with an id, answered after every earlier frame of the socket, proves the acks
 * were applied.
 */
import { closeSockets, openSocket, waitUntil } from "../lib/sockets.mjs";
import { freshTopic } from "./delivery-phase.mjs";

const WAIT_MS = 20_000;

export const COST_CASES = [
  { id: "single", label: "single publishes (c=1)", messages: 200, batch: 1, concurrency: 1 },
  { id: "single-c16", label: "single publishes (c=16)", messages: 800, batch: 1, concurrency: 16 },
  { id: "batch100", label: "batches of 100", messages: 1_000, batch: 100, concurrency: 1 },
];

async function publishAll(broker, topic, shape) {
  let next = 0;
  async function client() {
    while (next < shape.messages) {
      const first = next;
      next += shape.batch;
      const result =
        shape.batch === 1
          ? await broker.publish(topic, first)
          : await broker.publishBatch(topic, first, shape.batch);
      if (!result.ok) throw new Error(`publish failed: ${result.error}`);
    }
  }
  await Promise.all(Array.from({ length: shape.concurrency }, client));
}

/** One case; `consume` adds a subscription with an acking consumer socket. */
async function costCase(broker, shape, consume) {
  const topic = freshTopic(`s5-${shape.id}`);
  let socket = null;
  let acked = 0;
  let pong = false;
  if (consume) {
    await broker.createSubscription(topic, "cost");
    socket = await openSocket(broker.consumerUrl(topic, "cost"), {
      protocols: broker.protocols,
      readyOnFirstFrame: true,
      onFrame(text, ws) {
        if (text.includes('"type":"pong"')) pong = true;
        const messages = broker.messagesIn(text);
        if (messages.length === 0) return;
        ws.send(broker.ackFrame(messages.map((m) => m.seq)));
        acked += messages.length;
      },
    });
  } else {
    await broker.createTopic(topic);
  }
  try {
    const before = (await broker.info(topic)).usage;
    await publishAll(broker, topic, shape);
    if (socket) {
      if (!(await waitUntil(() => acked >= shape.messages, WAIT_MS))) {
        throw new Error(`only ${acked} of ${shape.messages} messages were delivered`);
      }
      socket.send(JSON.stringify({ type: "ping", id: "settled" }));
      if (!(await waitUntil(() => pong, WAIT_MS))) throw new Error("no pong after the acks");
    }
    const after = (await broker.info(topic)).usage;
    const per = (field, less = 0) => (after[field] - before[field] - less) / shape.messages;
    return {
      messages: shape.messages,
      rowsWrittenPerMsg: per("rowsWritten"),
      rowsReadPerMsg: per("rowsRead"),
      // The second info() call counts itself.
      requestsPerMsg: per("requests", 1),
    };
  } finally {
    if (socket) await closeSockets([socket]);
  }
}

/** Runs every case without and with a consumer. */
export async function runCost({ broker, log }) {
  const results = {};
  for (const shape of COST_CASES) {
    const publishOnly = await costCase(broker, shape, false);
    const withConsumer = await costCase(broker, shape, true);
    results[shape.id] = { label: shape.label, publishOnly, withConsumer };
    const fmt = (r) =>
      `${r.rowsWrittenPerMsg.toFixed(2)} rows written, ${r.rowsReadPerMsg.toFixed(1)} read, ${r.requestsPerMsg.toFixed(2)} requests`;
    log(
      `  ${shape.label.padEnd(24)} publish only: ${fmt(publishOnly)} | + deliver + ack: ${fmt(withConsumer)}`,
    );
  }
  return results;
}
