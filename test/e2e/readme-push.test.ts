/**
 * The README's "Push to webhooks and Workers" example, as written: its `receiver.mjs` runs with
 * Node from this repository (where `standardwebhooks` is installed), its curl commands run with
 * bash against a real broker started as `npm start` starts it. The one change to the text is
 * the ports: the broker's and the receiver's are picked free, as for the "Try it" session.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Broker, removeState, sleep, startBroker } from "./harness";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
let broker: Broker;
let receiver: ChildProcess | undefined;
const file = path.join(ROOT, `.readme-receiver-${process.pid}.mjs`);

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  receiver?.kill("SIGTERM");
  await rm(file, { force: true });
  await broker?.stop();
  if (broker) await removeState(broker);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The section's code blocks: the receiver (```js), the session (```sh). */
async function section(): Promise<{ js: string; sh: string }> {
  const text = await readFile(path.join(ROOT, "README.md"), "utf8");
  const start = text.indexOf("\n## Push to webhooks and Workers");
  const body = text.slice(start, text.indexOf("\n## ", start + 1));
  const js = /```js\n([\s\S]*?)```/.exec(body)?.[1];
  const sh = /```sh\n([\s\S]*?)```/.exec(body)?.[1];
  if (!js || !sh) throw new Error("the README's push section lost its code blocks");
  return { js, sh };
}

it("the README's webhook receiver gets the message it shows, verified", async () => {
  const { js, sh } = await section();
  const port = await freePort();
  const ports = (text: string) =>
    text
      .replaceAll("127.0.0.1:8787", `127.0.0.1:${broker.port}`)
      .replaceAll("127.0.0.1:9000", `127.0.0.1:${port}`)
      .replaceAll("listen(9000,", `listen(${port},`);
  const commands = ports(sh)
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const [subscribe, startReceiver, publish] = commands;
  expect(startReceiver).toBe("WEBHOOK_SECRET=whsec_… node receiver.mjs &");

  const put = await run("bash", ["-c", subscribe as string]);
  const answer = JSON.parse(put.stdout) as { secret: string; config: { push: { url: string } } };
  expect(answer.secret).toMatch(/^whsec_/);
  expect(answer.config.push.url).toBe(`http://127.0.0.1:${port}/hook`);

  await writeFile(file, ports(js));
  let printed = "";
  receiver = spawn(process.execPath, [file], {
    cwd: ROOT,
    env: { ...process.env, WEBHOOK_SECRET: answer.secret },
  });
  receiver.stdout?.on("data", (chunk: Buffer) => {
    printed += chunk.toString();
  });
  let errors = "";
  receiver.stderr?.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  await sleep(500);
  await run("bash", ["-c", publish as string]);
  for (let i = 0; i < 100 && !printed.includes("\n"); i++) await sleep(100);
  const seen = await broker.json("/v1/topics/shipments/subscriptions/notify");
  expect({ printed, errors }, JSON.stringify(seen.body)).toEqual({ printed: '1 {"parcel":7}\n', errors: "" });
  const stats = await broker.json<{ stats: { acked: number; push: { lastStatus: number } } }>(
    "/v1/topics/shipments/subscriptions/notify",
  );
  expect(stats.body.stats).toMatchObject({ acked: 1, push: { lastStatus: 204 } });
});
