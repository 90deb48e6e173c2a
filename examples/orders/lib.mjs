/**
 * What the programs of the order example share: where the broker is, the topic names, and a
 * little output. Runs on Node.js 22 with the SDK of this repository (`edge-broker/client`).
 */
import { Broker } from "edge-broker/client";

/** The broker: EDGE_BROKER_URL (default `npm start`'s address), with EDGE_BROKER_TOKEN if set. */
export const url = process.env.EDGE_BROKER_URL ?? "http://127.0.0.1:8787";
const token = process.env.EDGE_BROKER_TOKEN;
export const broker = new Broker(token ? { url, token } : { url });

/** Every topic of the example starts with this (ORDERS_PREFIX), so runs can stay apart. */
const prefix = process.env.ORDERS_PREFIX ?? "shop";
export const topics = {
  orders: `${prefix}.orders`,
  stock: `${prefix}.stock`,
  inventory: `${prefix}.inventory`,
  payment: `${prefix}.payment`,
  shipping: `${prefix}.shipping`,
  replies: `${prefix}.order-replies`,
};

/** One line of output, named after the program. */
export const say = (who, line) => console.log(`${who.padEnd(9)} ${line}`);

/** Calls the HTTP API directly, for what the SDK does not do (configuring topics). */
export async function api(method, path, body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(new URL(path, url), { method, headers, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Runs `handle` for each message of a subscription; a failure nacks the message for a retry. */
export function serve(topic, subscription, handle) {
  return broker.subscribe(topic, subscription, {
    maxInFlight: 10,
    onMessage: async (message) => {
      try {
        await handle(message);
        message.ack();
      } catch (error) {
        console.error(`${subscription}: ${topic} seq ${message.seq} failed: ${error.message}`);
        message.nack("1s");
      }
    },
  });
}

/** Stops on Ctrl-C or SIGTERM, closing the subscriptions first. */
export function stopOn(...subscriptions) {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, async () => {
      await Promise.all(subscriptions.map((s) => s.close()));
      process.exit(0);
    });
  }
}
