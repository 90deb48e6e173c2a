#!/usr/bin/env node
/** Shipping: books a parcel for each order with an address (shop.shipping, fed by a route). */
import { say, serve, stopOn, topics } from "./lib.mjs";

const shipments = serve(topics.shipping, "shipping", async (message) => {
  const { order, address } = message.json();
  // The route keyed each copy by country: a subscription with ordered: true would ship one
  // parcel per country at a time.
  await message.reply(
    { service: "shipping", order, status: "booked", country: address.country },
    { idempotencyKey: `shipping/${order}` },
  );
  say("shipping", `booked a parcel to ${address.country} for ${order} (key ${message.key})`);
});

stopOn(shipments);
say("shipping", `serving ${topics.shipping}`);
