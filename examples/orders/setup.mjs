#!/usr/bin/env node
/**
 * Configures the order example's topics (run once; running it again changes nothing):
 *
 *   shop.orders ──route to-inventory (every order; items only)──▶ shop.inventory
 *               ──route to-payment (total > 0; amount and method)──▶ shop.payment
 *               ──route to-shipping (orders with an address; keyed by country)──▶ shop.shipping
 *   shop.stock      stock checks, answered by request/reply
 *   shop.order-replies  each service's durable reply, tied to its order by correlationId
 */
import { api, say, topics } from "./lib.mjs";

const ORDER_SCHEMA = {
  type: "object",
  required: ["id", "items", "total", "currency"],
  properties: {
    id: { type: "string" },
    items: { type: "array", minItems: 1, items: { type: "object", required: ["sku", "qty"] } },
    total: { type: "number", minimum: 0 },
    currency: { type: "string", enum: ["EUR", "USD"] },
    shipping: { type: "object", required: ["country"] },
  },
};

export async function setup() {
  const services = [topics.inventory, topics.payment, topics.shipping, topics.replies];
  for (const topic of [...services, topics.stock]) await api("PUT", `/v1/topics/${topic}`, {});
  await api("PUT", `/v1/topics/${topics.orders}`, {
    schema: ORDER_SCHEMA,
    routes: [
      {
        name: "to-inventory",
        to: topics.inventory,
        transform: '{"data": {"order": data.id, "items": data.items}}',
      },
      {
        name: "to-payment",
        to: topics.payment,
        filter: { data: { total: [{ numeric: [">", 0] }] } },
        transform: '{"data": {"order": data.id, "amount": data.total, "currency": data.currency}}',
      },
      {
        name: "to-shipping",
        to: topics.shipping,
        filter: { data: { shipping: { country: [{ exists: true }] } } },
        transform: '{"data": {"order": data.id, "address": data.shipping}, "key": data.shipping.country}',
      },
    ],
  });
  const consumer = { startAt: "earliest", ackTimeout: "10s" };
  await api("PUT", `/v1/topics/${topics.stock}/subscriptions/inventory`, consumer);
  await api("PUT", `/v1/topics/${topics.inventory}/subscriptions/inventory`, consumer);
  await api("PUT", `/v1/topics/${topics.payment}/subscriptions/payment`, consumer);
  await api("PUT", `/v1/topics/${topics.shipping}/subscriptions/shipping`, consumer);
  await api("PUT", `/v1/topics/${topics.replies}/subscriptions/orders`, consumer);
  say("setup", `topics, routes and subscriptions of ${topics.orders} are in place`);
}

if (import.meta.url === `file://${process.argv[1]}`) await setup();
