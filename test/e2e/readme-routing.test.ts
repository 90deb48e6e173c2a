/**
 * The README's "Routing and request/reply" section against a real broker: its curl session
 * replayed as written (a read is asked again until the route has forwarded what it shows), and
 * its SDK request/reply example run as written, but for the broker's address.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Broker, removeState, sleep, startBroker } from "./harness";
import { matchesShown, README_ORIGIN, readmeSession } from "./readme-session";

const ROOT = path.resolve(import.meta.dirname, "../..");
const HEADING = "## Routing and request/reply";

/** The first ```js block of the section. */
async function sdkExample(): Promise<string> {
  const text = await readFile(path.join(ROOT, "README.md"), "utf8");
  const block = /```js\n([\s\S]*?)```/.exec(text.slice(text.indexOf(`\n${HEADING}`)));
  if (!block?.[1]) throw new Error(`README.md "${HEADING}" has no \`\`\`js block`);
  return block[1];
}

describe("the README's routing section", () => {
  let broker: Broker;

  beforeAll(async () => {
    broker = await startBroker();
  });

  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  test("its curl session works as written, and each answer has what the README shows", async () => {
    const steps = await readmeSession(HEADING);
    expect(steps.map((s) => `${s.method} ${s.path.split("?")[0]}`)).toEqual([
      "PUT /v1/topics/orders.eu",
      "PUT /v1/topics/shop-orders",
      "POST /v1/topics/shop-orders/messages",
      "POST /v1/topics/shop-orders/messages",
      "POST /v1/topics/shop-orders/messages",
      "GET /v1/topics/orders.eu/messages",
      "GET /v1/topics/shop-orders",
    ]);
    for (const step of steps) {
      // Routes forward within moments: a read may be asked again until it shows it.
      const tries = step.method === "GET" ? 100 : 1;
      let answer: { status: number; body: unknown } | undefined;
      for (let i = 0; i < tries; i++) {
        answer = await broker.json(step.path, {
          method: step.method,
          headers: step.headers,
          body: step.body ?? null,
        });
        if (step.shown === undefined || matchesShown(answer.body, step.shown)) break;
        await sleep(100);
      }
      const why = `${step.command}\nshown:  ${JSON.stringify(step.shown)}\nanswer: ${JSON.stringify(answer?.body)}`;
      if (step.shown !== undefined) expect(matchesShown(answer?.body, step.shown), why).toBe(true);
    }
  });

  test("its request/reply example runs as written", async () => {
    // The example imports `edge-broker/client`: a project beside it whose node_modules links here.
    const project = await mkdtemp(path.join(tmpdir(), "edge-broker-readme-"));
    try {
      await mkdir(path.join(project, "node_modules"));
      await symlink(ROOT, path.join(project, "node_modules", "edge-broker"), "dir");
      const file = path.join(project, "example.mjs");
      await writeFile(file, (await sdkExample()).replaceAll(README_ORIGIN, broker.url));
      const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code, output).toBe(0);
      expect(output.trim()).toBe("{ sku: 'BK-1', inStock: true }");
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });
});
