#!/usr/bin/env node
/**
 * The whole order example in one command, against a running broker (`npm start`):
 *
 *   npm run example:orders              # 20 orders
 *   npm run example:orders -- --orders 50
 *
 * Sets up the topics, starts inventory, payment and shipping as separate processes, runs the
 * order service until every order is complete, then stops the services.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { setup } from "./setup.mjs";

const { values } = parseArgs({ options: { orders: { type: "string", default: "20" } } });
const here = import.meta.dirname;

await setup();
const services = ["inventory", "payment", "shipping"].map((name) =>
  spawn(process.execPath, [path.join(here, `${name}.mjs`)], { stdio: "inherit" }),
);
const orders = spawn(process.execPath, [path.join(here, "order-service.mjs"), "--orders", values.orders], {
  stdio: "inherit",
});
const code = await new Promise((resolve) => orders.once("exit", (c) => resolve(c ?? 1)));
for (const service of services) service.kill("SIGTERM");
await Promise.all(services.map((service) => new Promise((resolve) => service.once("exit", resolve))));
process.exit(code);
