/**
 * The runtime check on Bun. Run by scripts/check-runtimes.mjs:
 * `BROKER_URL=… TOPIC=… COUNT=… bun test/runtimes/bun.mjs`.
 */
import { run } from "./scenario.mjs";

const passed = await run({
  url: Bun.env.BROKER_URL,
  topic: Bun.env.TOPIC,
  count: Number(Bun.env.COUNT),
});
process.exit(passed ? 0 : 1);
