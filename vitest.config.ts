import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
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
              serviceBindings: { RECEIVER: "push-receiver" },
              workers: [
                {
                  name: "push-receiver",
                  modules: true,
                  scriptPath: "./test/worker/fixtures/push-receiver.mjs",
                  compatibilityDate: "2026-08-01",
                  // The Worker under test runs as the pool's runner, under this name.
                  serviceBindings: { BROKER: { name: "vitest-plugin-runner-worker", entrypoint: "Broker" } },
                },
              ],
            },
          }),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"] },
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
