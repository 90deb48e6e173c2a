#!/usr/bin/env node
/**
 * `npm run test:durable-streams`: the Durable Streams server conformance suite
 * (`@durable-streams/server-conformance-tests`, unmodified) against a real broker — `npm start` on
 * a fresh state directory, through test/e2e/harness.ts — at its `/ds` mount point. Prints every
 * test that failed and the count, and exits 1 when fewer than 95 % of the tests that ran passed.
 * docs/durable-streams.md lists what fails and why.
 *
 * The broker runs with DS_LONG_POLL_MS=3000: the suite expects an idle long-poll to answer 204
 * within its 5 s test timeout, where the default (20 s) suits real readers better.
 *
 * @example
 * npm run test:durable-streams
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { removeState, startBroker } from "../test/e2e/harness.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const SUITE_DIR = path.join(ROOT, "test/conformance");
const PASS_RATIO = 0.95;

// The suite registers its tests with the Vitest it depends on (4.x), which npm installs beside it:
// run that one, not the project's.
const projectRequire = createRequire(path.join(ROOT, "package.json"));
const suiteRequire = createRequire(
  projectRequire.resolve("@durable-streams/server-conformance-tests/package.json"),
);
const vitestBin = path.join(path.dirname(suiteRequire.resolve("vitest/package.json")), "vitest.mjs");

const out = await mkdtemp(path.join(tmpdir(), "ds-conformance-"));
const report = path.join(out, "report.json");
const broker = await startBroker({ vars: { DS_LONG_POLL_MS: "3000" } });
const started = Date.now();
let code;
try {
  code = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        vitestBin,
        "run",
        "--root",
        SUITE_DIR,
        "--config",
        path.join(SUITE_DIR, "vitest.config.mjs"),
        "--reporter=dot",
        "--reporter=json",
        `--outputFile.json=${report}`,
      ],
      {
        stdio: "inherit",
        env: { ...process.env, CONFORMANCE_TEST_URL: `${broker.url}/ds`, FORCE_COLOR: "0" },
      },
    );
    child.on("close", (status) => resolve(status ?? 1));
  });
} finally {
  await broker.stop();
  await removeState(broker);
}
const seconds = Math.round((Date.now() - started) / 1000);

let results;
try {
  results = JSON.parse(await readFile(report, "utf8"));
} catch {
  console.error(`durable-streams conformance: the suite wrote no report (vitest exited ${code})`);
  process.exit(1);
}
await rm(out, { recursive: true, force: true });

const tests = results.testResults.flatMap((file) => file.assertionResults);
const failed = tests.filter((t) => t.status === "failed");
const skipped = tests.filter((t) => t.status === "pending" || t.status === "skipped" || t.status === "todo");
const passed = tests.filter((t) => t.status === "passed");
const ran = passed.length + failed.length;
for (const t of failed) console.log(`  failed: ${t.fullName}`);
for (const t of skipped) console.log(`  skipped: ${t.fullName}`);
const percent = ran === 0 ? 0 : (100 * passed.length) / ran;
console.log(
  `durable-streams conformance: ${passed.length}/${ran} passed (${percent.toFixed(1)} %), ` +
    `${failed.length} failed, ${skipped.length} skipped, in ${seconds} s`,
);
if (ran === 0 || passed.length < PASS_RATIO * ran) {
  console.error(`durable-streams conformance: below ${PASS_RATIO * 100} %`);
  process.exit(1);
}
