#!/usr/bin/env node
/**
 * Inventory: answers stock checks (request/reply on shop.stock) and reserves the items of each
 * order (shop.inventory, fed by a route), replying to the order's reply topic.
 */
import { say, serve, stopOn, topics } from "./lib.mjs";

const OUT_OF_STOCK = new Set(["SOLD-OUT"]);

const checks = serve(topics.stock, "inventory", async (message) => {
  const { sku } = message.json();
  try {
    await message.reply({ sku, inStock: !OUT_OF_STOCK.has(sku) });
  } catch (error) {
    // The requester gave up waiting: nobody to answer any more.
    if (error.code !== "gone") throw error;
  }
});

const reservations = serve(topics.inventory, "inventory", async (message) => {
  const { order, items } = message.json();
  const units = items.reduce((n, item) => n + item.qty, 0);
  // The same reply for the same order: stored once, however often this runs for it.
  await message.reply(
    { service: "inventory", order, status: "reserved", units },
    { idempotencyKey: `inventory/${order}` },
  );
  say("inventory", `reserved ${units} unit(s) for ${order}`);
});

stopOn(checks, reservations);
say("inventory", `serving ${topics.stock} and ${topics.inventory}`);
