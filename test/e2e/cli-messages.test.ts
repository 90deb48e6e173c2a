/**
 * `edge-broker pub`, `sub` and `tail` against a real broker: what they send lands in the log as
 * sent and in order, a consumer acks what it printed, a tail prints what is published after it
 * starts, and Ctrl-C ends both cleanly.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WireMessage } from "../../src/protocol/message";
import { CLI, cliEnv, lines, runCli, startCli } from "./cli-process";
import { type Broker, freshTopic, removeState, startBroker } from "./harness";

let broker: Broker;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  broker = await startBroker();
  env = { EDGE_BROKER_URL: broker.url };
  dir = await mkdtemp(path.join(tmpdir(), "edge-broker-cli-"));
});

afterAll(async () => {
  await broker?.stop();
  if (broker) await removeState(broker);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The whole log of a topic, read with the HTTP API. */
async function readLog(topic: string): Promise<WireMessage[]> {
  const all: WireMessage[] = [];
  let after = 0;
  while (true) {
    const { body } = await broker.json<{ messages: WireMessage[]; next: number }>(
      `/v1/topics/${topic}/messages?after=${after}&limit=1000`,
    );
    if (body.messages.length === 0) return all;
    all.push(...body.messages);
    after = body.next;
  }
}

async function publish(topic: string, data: unknown[]): Promise<void> {
  const res = await broker.json(`/v1/topics/${topic}/batch`, {
    method: "POST",
    json: { messages: data.map((d) => ({ data: d })) },
  });
  expect(res.status).toBe(201);
}

describe("pub", () => {
  it("publishes one message with its content type, attributes, key and idempotency key", async () => {
    const topic = freshTopic();
    const args = ["pub", topic, '{"order": 1}', "--attr", "region=eu", "--attr", "tier=gold", "--key", "c-7"];
    const first = await runCli([...args, "--idempotency-key", "o-1"], { env });
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout).toMatch(/^published seq 1 \(id [0-9a-f-]{36}\)\n$/);
    const again = await runCli([...args, "--idempotency-key", "o-1", "--json"], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({ seq: 1, duplicate: true });
    expect((await runCli(["pub", topic, "--data", "plain words", "--delay", "1h"], { env })).code).toBe(0);
    const typed = await runCli(["pub", topic, "<a/>", "--content-type", "application/xml"], { env });
    expect(typed.code).toBe(0);

    const log = await readLog(topic);
    expect(log).toMatchObject([
      {
        seq: 1,
        contentType: "application/json",
        attributes: { region: "eu", tier: "gold" },
        key: "c-7",
        data: { order: 1 },
      },
      { seq: 2, contentType: "text/plain;charset=utf-8", data: "plain words", deliverAt: expect.any(Number) },
      { seq: 3, contentType: "application/xml", dataBase64: Buffer.from("<a/>").toString("base64") },
    ]);
  });

  it("publishes a file of a few thousand lines in order, each line one message", async () => {
    const topic = freshTopic();
    const sent = Array.from({ length: 3_500 }, (_, i) =>
      i % 5 === 4 ? `line ${i + 1}, as text` : JSON.stringify({ n: i + 1, tags: ["a", "b"] }),
    );
    const file = path.join(dir, `${topic}.jsonl`);
    // Blank lines and CRLF endings are part of what real files hold.
    await writeFile(file, `${sent.slice(0, 10).join("\r\n")}\n\n${sent.slice(10).join("\n")}\n`);
    const result = await runCli(["pub", topic, "--file", file], { env });
    expect(result).toEqual({ code: 0, stdout: "published 3500 messages: seq 1–3500\n", stderr: "" });
    const log = await readLog(topic);
    expect(log.map((m) => m.seq)).toEqual(sent.map((_, i) => i + 1));
    expect(log.map((m) => (m.contentType === "application/json" ? JSON.stringify(m.data) : m.data))).toEqual(
      sent,
    );
  });

  it("splits input over 8 MiB into batches the broker takes, from standard input", async () => {
    const topic = freshTopic();
    // 800 lines of 12 KiB: under 1,000 messages but over 8 MiB, so bytes decide the batches.
    const sent = Array.from({ length: 800 }, (_, i) => `${i + 1} ${"x".repeat(12 * 1024)}`);
    const result = await runCli(["pub", topic, "--json"], { env, input: `${sent.join("\n")}\n` });
    expect(result.code).toBe(0);
    const receipts = lines(result.stdout).map((line) => JSON.parse(line));
    expect(receipts.map((r) => [r.line, r.seq])).toEqual(sent.map((_, i) => [i + 1, i + 1]));
    const log = await readLog(topic);
    expect(log.map((m) => m.data)).toEqual(sent);
  });

  it("gives each line its own idempotency key, so publishing the file again stores nothing twice", async () => {
    const topic = freshTopic();
    const input = "one\ntwo\nthree\n";
    await runCli(["pub", topic, "--idempotency-key", "import-7"], { env, input });
    const again = await runCli(["pub", topic, "--idempotency-key", "import-7"], { env, input });
    expect(again.stdout).toBe("published 3 messages: seq 1–3 (3 duplicates)\n");
    expect((await readLog(topic)).map((m) => m.data)).toEqual(["one", "two", "three"]);
  });

  it("stops at a line the broker would refuse, after publishing the ones before it", async () => {
    const topic = freshTopic();
    const input = `first\nsecond\n${"y".repeat(1024 * 1024 + 1)}\nfourth\n`;
    const result = await runCli(["pub", topic], { env, input });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "published 0 messages before the failure\n" +
        "Payload too large: line 3 holds 1048577 bytes; a message holds at most 1048576 (payload_too_large)\n",
    );
  });

  it("prints the broker's refusal of a message and exits 1", async () => {
    const result = await runCli(["pub", freshTopic(), "not json", "--content-type", "application/json"], {
      env,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Invalid request: .*JSON.* \(invalid_request\)\n$/);
  });

  it("shows a progress bar for large input when stderr is a terminal", async () => {
    const topic = freshTopic();
    const file = path.join(dir, `${topic}.txt`);
    await writeFile(
      file,
      `${Array.from({ length: 1_200 }, (_, i) => `${i} ${"z".repeat(1_000)}`).join("\n")}\n`,
    );
    // script(1) runs the command on a pseudo-terminal, as a shell in a terminal window would.
    const command = [CLI, "pub", topic, "--file", file].map((a) => `'${a}'`).join(" ");
    const { stdout } = await promisify(execFile)(
      "script",
      ["-qec", `'${process.execPath}' ${command}`, "/dev/null"],
      {
        env: cliEnv(env),
        timeout: 60_000,
      },
    );
    expect(stdout).toContain("[########################] 100%  1,200 messages");
    expect(stdout).toContain("published 1200 messages: seq 1–1200");
  });
});

describe("sub", () => {
  it("prints each message, acks it, and stops after --max with nothing more leased", async () => {
    const topic = freshTopic();
    await publish(topic, [{ n: 1 }, "two", { n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }]);
    await broker.json(`/v1/topics/${topic}/subscriptions/work`, {
      method: "PUT",
      json: { startAt: "earliest" },
    });

    const first = await runCli(["sub", topic, "work", "--max", "5"], { env });
    expect(first.code).toBe(0);
    expect(lines(first.stdout)).toEqual([
      expect.stringMatching(/^1 {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}\{"n":1\}$/),
      expect.stringMatching(/^2 {2}.*Z {2}"two"$/),
      expect.stringMatching(/^3 {2}.*Z {2}\{"n":3\}$/),
      expect.stringMatching(/^4 {2}.*Z {2}\{"n":4\}$/),
      expect.stringMatching(/^5 {2}.*Z {2}\{"n":5\}$/),
    ]);
    expect(first.stderr).toBe(`consuming ${topic}/work (Ctrl-C to stop)\n`);
    const { body } = await broker.json<{ stats: Record<string, number> }>(
      `/v1/topics/${topic}/subscriptions/work`,
    );
    expect(body.stats).toMatchObject({ backlog: 1, inFlight: 0, acked: 5, delivered: 5, redelivered: 0 });

    const last = await runCli(["sub", topic, "work", "--max", "1", "--json"], { env });
    expect(JSON.parse(last.stdout)).toMatchObject({ seq: 6, attempt: 1, data: { n: 6 } });
    const after = await broker.json<{ stats: Record<string, number> }>(
      `/v1/topics/${topic}/subscriptions/work`,
    );
    expect(after.body.stats).toMatchObject({ backlog: 0, inFlight: 0, acked: 6 });
  });

  it("runs until Ctrl-C, acking what it printed", async () => {
    const topic = freshTopic();
    await broker.json(`/v1/topics/${topic}/subscriptions/live`, { method: "PUT", json: {} });
    const consumer = startCli(["sub", topic, "live"], { env });
    await consumer.waitFor(({ stderr }) => stderr.includes("Ctrl-C to stop"));
    await publish(topic, ["a", "b", "c"]);
    await consumer.waitFor(({ stdout }) => lines(stdout).length === 3);
    const { code } = await consumer.stop("SIGINT");
    expect(code).toBe(0);
    const { body } = await broker.json<{ stats: Record<string, number> }>(
      `/v1/topics/${topic}/subscriptions/live`,
    );
    expect(body.stats).toMatchObject({ backlog: 0, acked: 3 });
  });

  it("says when the subscription does not exist, and exits 1", async () => {
    const topic = freshTopic();
    await publish(topic, [1]);
    const result = await runCli(["sub", topic, "nobody"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("Not found: subscription nobody does not exist (not_found)\n");
  });
});

describe("tail", () => {
  it("prints messages published after it starts, and exits 0 on Ctrl-C", async () => {
    const topic = freshTopic();
    await publish(topic, ["before"]);
    const tail = startCli(["tail", topic], { env });
    await tail.waitFor(({ stderr }) => stderr.includes(`tailing ${topic} (Ctrl-C to stop)`));
    await publish(topic, [{ after: 1 }, "after 2"]);
    await tail.waitFor(({ stdout }) => lines(stdout).length === 2);
    const { code, stdout } = await tail.stop("SIGINT");
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      expect.stringMatching(/^2 {2}.*Z {2}\{"after":1\}$/),
      expect.stringMatching(/^3 {2}.*Z {2}"after 2"$/),
    ]);
  });

  it("prints the retained messages after --after first, as JSON lines with --json", async () => {
    const topic = freshTopic();
    await publish(topic, ["one", "two", "three"]);
    const tail = startCli(["tail", topic, "--after", "1", "--json"], { env });
    await tail.waitFor(({ stdout }) => lines(stdout).length === 2);
    const { code, stdout } = await tail.stop("SIGTERM");
    expect(code).toBe(0);
    expect(lines(stdout).map((line) => JSON.parse(line))).toMatchObject([
      { seq: 2, contentType: "application/json", data: "two" },
      { seq: 3, data: "three" },
    ]);
  });

  it("waits for a topic that does not exist yet, and prints its first message", async () => {
    const topic = freshTopic();
    const tail = startCli(["tail", topic], { env });
    await tail.waitFor(({ stderr }) => stderr.includes("the topic does not exist yet: waiting for it"));
    await publish(topic, ["first"]);
    await tail.waitFor(({ stdout }) => lines(stdout).length === 1);
    const { code, stdout } = await tail.stop("SIGINT");
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([expect.stringMatching(/^1 {2}.*Z {2}"first"$/)]);
  });
});
