/**
 * The runtime check on Node.js (22 or later: a global WebSocket). Run by
 * scripts/check-runtimes.mjs: `BROKER_URL=… TOPIC=… COUNT=… node test/runtimes/node.mjs`.
 */
import { run } from "./scenario.mjs";

const passed = await run({
  url: process.env.BROKER_URL,
  topic: process.env.TOPIC,
  count: Number(process.env.COUNT),
});
process.exit(passed ? 0 : 1);
