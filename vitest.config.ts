import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * The README's Worker that publishes through the `Broker` entrypoint: the first ```js block after
 * the ```toml block that binds it, in "Push to webhooks and Workers". Run as written by
 * test/worker/readme-rpc.test.ts, bound as that ```toml block says, which is checked here: the
 * binding `BROKER`, the entrypoint `Broker`, and the service named as in wrangler.toml.
 */
function readmeWorker(): string {
  const read = (file: string) => readFileSync(new URL(file, import.meta.url), "utf8");
  const readme = read("./README.md");
  const start = readme.indexOf("\n## Push to webhooks and Workers");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const after = section.slice(section.indexOf("```toml"));
  const toml = /```toml\n([\s\S]*?)```/.exec(after)?.[1]?.trim();
  const block = /```js\n([\s\S]*?)```/.exec(after)?.[1];
  const service = /^name = "([^"]+)"/m.exec(read("./wrangler.toml"))?.[1];
  const binding = `services = [{ binding = "BROKER", service = "${service}", entrypoint = "Broker" }]`;
  if (start < 0 || !block || toml !== binding)
    throw new Error(`README.md lost the Worker that calls env.BROKER, or its binding: ${binding}`);
  return block;
}

/**
 * The worker writes a JSON line per request (src/http/middleware/request-log.ts); thousands of
 * them would bury a failing test's own output. test/worker/request-log.test.ts reads them itself.
 */
const quietRequestLines = (log: string): false | undefined =>
  /^\{"level":"\w+","msg":"request",/.test(log) ? false : undefined;

export default defineConfig({
  test: {
    onConsoleLog: quietRequestLines,
    projects: [
      {
        // Plain functions (durations, backoff, the client's reconnect logic) on Node.
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        // Inside workerd: the worker and its Durable Objects with real SQLite storage.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Small caps, so the tests of the caps need neither ten thousand sockets nor a thousand polls.
            miniflare: {
              bindings: {
                AUTH: "off",
                MAX_SOCKETS_PER_TOPIC: "20",
                MAX_SOCKETS_PER_SUBJECT: "3",
                MAX_LONG_POLLS_PER_TOPIC: "200",
              },
              // A second Worker: it publishes through the broker's RPC entrypoint and receives
              // push subscriptions over this service binding (test/worker/push-service.test.ts).
              serviceBindings: { RECEIVER: "push-receiver", README_WORKER: "readme-worker" },
              workers: [
                {
                  name: "push-receiver",
                  modules: true,
                  scriptPath: "./test/worker/fixtures/push-receiver.mjs",
                  compatibilityDate: "2026-08-01",
                  // The Worker under test runs as the pool's runner, under this name.
                  serviceBindings: { BROKER: { name: "vitest-plugin-runner-worker", entrypoint: "Broker" } },
                },
                {
                  // The README's Worker, its text as written, bound as the README binds it.
                  name: "readme-worker",
                  modules: true,
                  script: readmeWorker(),
                  compatibilityDate: "2026-08-01",
                  serviceBindings: { BROKER: { name: "vitest-plugin-runner-worker", entrypoint: "Broker" } },
                },
              ],
            },
          }),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"] },
      },
      {
        // Inside workerd, with relays engaged past 100 live sockets: thousands of sockets, not millions.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                AUTH: "off",
                MAX_SOCKETS_PER_RELAY: "100",
                MAX_SOCKETS_PER_TOPIC: "2200",
                MAX_SOCKETS_PER_SUBJECT: "150",
              },
            },
          }),
        ],
        test: {
          name: "relays",
          include: ["test/relays/**/*.test.ts"],
          testTimeout: 120_000,
        },
      },
      {
        // Inside workerd, with an Analytics Engine dataset bound: a Worker that records each data
        // point, since the local simulator of the binding keeps nothing to look at.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: { AUTH: "off" },
              serviceBindings: { ANALYTICS: { name: "analytics-recorder", entrypoint: "Dataset" } },
              workers: [
                {
                  name: "analytics-recorder",
                  modules: true,
                  scriptPath: "./test/analytics/fixtures/analytics-recorder.mjs",
                  compatibilityDate: "2026-08-01",
                },
              ],
            },
          }),
        ],
        test: { name: "analytics", include: ["test/analytics/**/*.test.ts"] },
      },
      {
        // Real broker processes, real HTTP and WebSocket clients.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // The example page in Debian's Chromium (playwright-core), against real broker processes.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
