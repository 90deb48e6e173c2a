/**
 * The runtime check on Deno. Run by scripts/check-runtimes.mjs:
 * `deno run --allow-net=127.0.0.1 --allow-env=BROKER_URL,TOPIC,COUNT test/runtimes/deno.mjs`.
 */
import { run } from "./scenario.mjs";

const passed = await run({
  url: Deno.env.get("BROKER_URL"),
  topic: Deno.env.get("TOPIC"),
  count: Number(Deno.env.get("COUNT")),
});
Deno.exit(passed ? 0 : 1);
