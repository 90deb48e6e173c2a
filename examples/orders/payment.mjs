#!/usr/bin/env node
/** Payment: charges each order (shop.payment, fed by a route) and replies to its reply topic. */
import { say, serve, stopOn, topics } from "./lib.mjs";

/** Slows each charge down (PAYMENT_DELAY_MS), as a real payment provider would. */
const delay = Number(process.env.PAYMENT_DELAY_MS ?? 0);

const payments = serve(topics.payment, "payment", async (message) => {
  const { order, amount, currency } = message.json();
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  await message.reply(
    { service: "payment", order, status: "charged", amount, currency },
    { idempotencyKey: `payment/${order}` },
  );
  say("payment", `charged ${amount} ${currency} for ${order}`);
});

stopOn(payments);
say("payment", `serving ${topics.payment}`);
