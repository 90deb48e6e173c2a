#!/usr/bin/env node
/**
 * The order service: checks stock (request/reply), places orders on shop.orders with a durable
 * reply topic, and follows the replies until each order has heard from every service it
 * involves. Prints one line per completed order and exits 0 once all are complete.
 *
 *   node examples/orders/order-service.mjs --orders 20 [--run <id>]
 */
import { parseArgs } from "node:util";
import { broker, say, topics } from "./lib.mjs";

const { values } = parseArgs({
  options: {
    orders: { type: "string", default: "20" },
    run: { type: "string", default: Date.now().toString(36) },
    timeout: { type: "string", default: "120" },
  },
});
const count = Number(values.orders);
const run = values.run;

/**
 * Every third order is digital (no address: no shipping), every order costs something, and the
 * eighth asks for a book that is sold out.
 */
function order(i) {
  const id = `${run}-${i}`;
  const sku = i === 7 ? "SOLD-OUT" : `BK-${i}`;
  const base = { id, items: [{ sku, qty: 1 + (i % 3) }], total: 10 + i, currency: i % 2 ? "USD" : "EUR" };
  return i % 3 === 2
    ? base
    : { ...base, shipping: { country: ["FR", "DE", "US"][i % 3], city: "Somewhere" } };
}

/** Which services reply to an order. */
const expected = (o) => (o.shipping ? ["inventory", "payment", "shipping"] : ["inventory", "payment"]);

async function inStock(sku) {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await broker.request(topics.stock, { sku }, { timeout: "5s" })).json().inStock;
    } catch (error) {
      if (error.code !== "reply_timeout" || attempt === 5) throw error;
    }
  }
}

const orders = new Map();
for (let i = 0; i < count; i++) {
  const o = order(i);
  if (!(await inStock(o.items[0].sku))) {
    say("orders", `${o.id}: out of stock, not placed`);
    continue;
  }
  // The order's id is its idempotency key (placing it twice stores it once) and its
  // correlationId, which every reply carries back.
  await broker.publish(topics.orders, o, {
    idempotencyKey: o.id,
    replyTo: topics.replies,
    correlationId: o.id,
  });
  orders.set(o.id, { waiting: new Set(expected(o)), replies: 0 });
}
say("orders", `placed ${orders.size} order(s); waiting for inventory, payment and shipping`);

let complete = 0;
const deadline = setTimeout(() => {
  const open = [...orders]
    .filter(([, o]) => o.waiting.size > 0)
    .map(([id, o]) => `${id} (${[...o.waiting]})`);
  console.error(`orders: gave up after ${values.timeout} s; still waiting for ${open.join(", ")}`);
  process.exit(1);
}, Number(values.timeout) * 1_000);

const replies = broker.subscribe(topics.replies, "orders", {
  onMessage: async (message) => {
    const state = orders.get(message.correlationId);
    message.ack();
    if (!state) return; // another run's order
    const { service } = message.json();
    state.replies++;
    if (!state.waiting.delete(service)) {
      say("orders", `${message.correlationId}: a second reply from ${service}!`);
      return;
    }
    if (state.waiting.size > 0) return;
    complete++;
    say("orders", `${message.correlationId}: complete (${complete}/${orders.size})`);
    if (complete === orders.size) {
      clearTimeout(deadline);
      await replies.close();
      say("orders", `all ${complete} orders complete`);
      process.exit(0);
    }
  },
});
