/**
 * The order example (examples/orders) against a real broker: run with the one command the
 * README gives, and run again with the payment service killed with SIGKILL mid-way and
 * restarted. Either way every order completes, and each service's reply to each order is in the
 * reply topic exactly once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WireMessage } from "../../src/protocol/message";
import { type Broker, removeState, sleep, startBroker } from "./harness";

const EXAMPLE = path.resolve(import.meta.dirname, "../../examples/orders");
const ROOT = path.resolve(import.meta.dirname, "../..");

interface Program {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function run(command: string, args: string[], env: Record<string, string>): Program {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const node = (file: string, env: Record<string, string>, args: string[] = []) =>
  run(process.execPath, [path.join(EXAMPLE, file), ...args], env);

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function readAll(broker: Broker, topic: string): Promise<WireMessage[]> {
  const all: WireMessage[] = [];
  for (let after = 0; ; ) {
    const page = await broker.json<{ messages: WireMessage[]; next: number }>(
      `/v1/topics/${topic}/messages?after=${after}&limit=1000`,
    );
    all.push(...page.body.messages);
    if (page.body.messages.length === 0) return all;
    after = page.body.next;
  }
}

/** Each (order, service) pair of a run's replies, counted. */
async function replyCounts(broker: Broker, prefix: string, run: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const reply of await readAll(broker, `${prefix}.order-replies`)) {
    if (!reply.correlationId?.startsWith(`${run}-`)) continue;
    const pair = `${reply.correlationId}/${(reply.data as { service: string }).service}`;
    counts.set(pair, (counts.get(pair) ?? 0) + 1);
  }
  return counts;
}

/** The replies orders 0…n-1 of a run must have: every service, shipping only with an address, none for order 7. */
function expectedPairs(run: string, orders: number): string[] {
  const pairs: string[] = [];
  for (let i = 0; i < orders; i++) {
    if (i === 7) continue;
    for (const service of i % 3 === 2 ? ["inventory", "payment"] : ["inventory", "payment", "shipping"]) {
      pairs.push(`${run}-${i}/${service}`);
    }
  }
  return pairs.sort();
}

describe("the order example", () => {
  let broker: Broker;

  beforeAll(async () => {
    broker = await startBroker();
  });

  afterAll(async () => {
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  it("runs with one command, as the README says", async () => {
    const program = run("npm", ["run", "example:orders", "--", "--orders", "12"], {
      EDGE_BROKER_URL: broker.url,
      ORDERS_PREFIX: "readme",
    });
    expect(await program.exited, program.output()).toBe(0);
    expect(program.output()).toContain("all 11 orders complete");
    expect(program.output()).toMatch(/-7: out of stock, not placed/);
    expect(program.output()).not.toContain("a second reply");
  });

  it("completes every order exactly once when the payment service is killed mid-way", async () => {
    const env = { EDGE_BROKER_URL: broker.url, ORDERS_PREFIX: "crash" };
    const setup = node("setup.mjs", env);
    expect(await setup.exited, setup.output()).toBe(0);
    const slowPayment = { ...env, PAYMENT_DELAY_MS: "150" };
    const services = [node("inventory.mjs", env), node("shipping.mjs", env)];
    let payment = node("payment.mjs", slowPayment);
    const orders = node("order-service.mjs", env, ["--orders", "30", "--run", "crash1"]);

    await until(() => (payment.output().match(/charged/g)?.length ?? 0) >= 5, "five payments");
    payment.child.kill("SIGKILL");
    await payment.exited;
    const charged = payment.output().match(/charged/g)?.length ?? 0;
    expect(charged, "the kill came after the last payment").toBeLessThan(29);
    payment = node("payment.mjs", slowPayment);

    const code = await orders.exited;
    expect(code, orders.output()).toBe(0);
    expect(orders.output()).toContain("all 29 orders complete");
    expect(orders.output()).not.toContain("a second reply");
    for (const program of [...services, payment]) program.child.kill("SIGTERM");
    await Promise.all([...services, payment].map((program) => program.exited));

    const counts = await replyCounts(broker, "crash", "crash1");
    expect([...counts.keys()].sort()).toEqual(expectedPairs("crash1", 30));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const payments = await broker.json<{ stats: { backlog: number } }>(
      "/v1/topics/crash.payment/subscriptions/payment",
    );
    expect(payments.body.stats.backlog).toBe(0);
    console.log(
      `orders example crash: payments before the kill ${charged}, after ${payment.output().match(/charged/g)?.length ?? 0}`,
    );
  });
});
