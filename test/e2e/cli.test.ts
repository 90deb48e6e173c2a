/**
 * The `edge-broker` command line against a real broker: the README's session, help, topics and
 * subscriptions admin, refusals and usage errors with their exit codes, and where the broker's
 * URL comes from.
 * Publishing and consuming are in cli-messages.test.ts, auth in cli-auth.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, runCli, runShell } from "./cli-process";
import { type Broker, freshTopic, removeState, sleep, startBroker } from "./harness";
import { matchesShownLine, readmeCliSession } from "./readme-cli";

let broker: Broker;
let env: Record<string, string>;

beforeAll(async () => {
  broker = await startBroker();
  env = { EDGE_BROKER_URL: broker.url };
});

afterAll(async () => {
  await broker?.stop();
  if (broker) await removeState(broker);
});

/** Runs a command that must succeed, and returns its stdout. */
async function ok(args: string[]): Promise<string> {
  const result = await runCli(args, { env });
  expect(result, `edge-broker ${args.join(" ")}`).toMatchObject({ code: 0 });
  return result.stdout;
}

describe("the README's command line session", () => {
  it("works as written with npx, and prints what the README shows", async () => {
    const steps = await readmeCliSession();
    expect(
      steps.map((step) => step.command.split(" edge-broker ")[1]?.split(" ").slice(0, 2).join(" ")),
    ).toEqual([
      "topics create",
      "pub orders",
      "pub orders",
      "subs create",
      "sub orders",
      "subs ls",
      "tail orders",
    ]);
    const topic = freshTopic();
    for (const step of steps) {
      const rename = (text: string) => text.replace(/\borders\b/g, topic);
      const { code, signal, stdout, stderr } = await runShell(rename(step.command), {
        env,
        interruptAfterLines: step.untilInterrupted ? step.shown.length : undefined,
      });
      const why = `${step.command}\nstdout: ${stdout}\nstderr: ${stderr}`;
      // Interrupted, npx goes down with the signal; the command's own clean exit is tested below.
      if (step.untilInterrupted) expect(code === 0 || signal === "SIGINT", why).toBe(true);
      else expect(code, why).toBe(0);
      // stderr says only what a consumer or tail is doing; a refusal would show here.
      for (const line of lines(stderr))
        expect(line, why).toMatch(/^(consuming|tailing) \S+ \(Ctrl-C to stop\)$/);
      if (step.shown.length === 0) continue;
      const printed = lines(stdout);
      expect(printed.length, why).toBe(step.shown.length);
      step.shown.forEach((shown, i) => {
        expect(matchesShownLine(printed[i] as string, rename(shown)), `${why}\nshown: ${shown}`).toBe(true);
      });
    }
  });
});

describe("help", () => {
  const COMMANDS = [
    "topics ls",
    "topics create",
    "topics info",
    "topics rm",
    "pub",
    "sub",
    "tail",
    "subs ls",
    "subs create",
    "subs info",
    "subs rm",
    "subs seek",
    "subs pause",
    "subs resume",
    "subs purge",
    "subs redrive",
    "token",
  ];

  it.each(COMMANDS)("edge-broker %s --help prints its usage and options", async (command) => {
    const { code, stdout, stderr } = await runCli([...command.split(" "), "--help"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(new RegExp(`^Usage: edge-broker ${command} `));
    expect(stdout).toContain("--url URL");
    expect(stdout).toContain("-h, --help");
  });

  it("lists the commands, and in each group only the commands the broker serves", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    const listed = (text: string) =>
      lines(text.slice(text.indexOf("Commands:"), text.indexOf("\n\n", text.indexOf("Commands:"))))
        .slice(1)
        .map((line) => line.trim().split(" ")[0]);
    expect(listed(top.stdout)).toEqual(["topics", "pub", "sub", "tail", "subs", "token"]);
    expect(listed((await runCli(["topics", "--help"])).stdout)).toEqual(["ls", "create", "info", "rm"]);
    expect(listed((await runCli(["subs", "--help"])).stdout)).toEqual([
      "ls",
      "create",
      "info",
      "rm",
      "seek",
      "pause",
      "resume",
      "purge",
      "redrive",
    ]);
  });
});

describe("topics", () => {
  it("creates, updates, shows, lists and deletes a topic", async () => {
    const topic = freshTopic();
    expect(await ok(["topics", "create", topic, "--max-age", "3d", "--max-bytes", "none"])).toBe(
      `created topic ${topic}\n`,
    );
    expect(await ok(["topics", "create", topic, "--on-full", "drop-oldest", "--dedup-window", "1h"])).toBe(
      `updated topic ${topic}\n`,
    );
    const info = JSON.parse(await ok(["topics", "info", topic, "--json"]));
    expect(info).toMatchObject({
      name: topic,
      config: {
        retention: { maxAge: 3 * 86_400_000, maxBytes: null },
        onFull: "drop-oldest",
        dedupWindow: 3_600_000,
      },
    });
    const readable = await ok(["topics", "info", topic]);
    expect(readable).toContain(`topic          ${topic}\n`);
    expect(readable).toContain("max age 3d, max messages none, max bytes none, on full drop-oldest");

    const listed = JSON.parse(await ok(["topics", "ls", "--prefix", topic, "--json"]));
    expect(listed.map((t: { name: string }) => t.name)).toEqual([topic]);
    expect(lines(await ok(["topics", "ls", "--prefix", topic]))).toEqual([
      expect.stringMatching(/^NAME +CREATED$/),
      expect.stringMatching(new RegExp(`^${topic}  \\d{4}-`)),
    ]);

    expect(await ok(["topics", "rm", topic])).toBe(`deleted topic ${topic}\n`);
    expect((await broker.json(`/v1/topics/${topic}`)).status).toBe(404);
  });

  it("prints the problem's title, detail and code for a topic that does not exist, and exits 1", async () => {
    const result = await runCli(["topics", "info", freshTopic()], { env });
    expect(result).toEqual({ code: 1, stdout: "", stderr: "Not found: topic does not exist (not_found)\n" });
  });

  it("passes the broker's refusal of a bad name through", async () => {
    const result = await runCli(["topics", "create", "no spaces"], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Invalid name: .* \(invalid_name\)\n$/);
  });
});

describe("subs", () => {
  it("creates a subscription with its config, lists, shows, seeks and deletes it", async () => {
    const topic = freshTopic();
    await broker.json(`/v1/topics/${topic}/batch`, {
      method: "POST",
      json: { messages: [{ data: 1 }, { data: 2 }, { data: 3 }] },
    });
    const created = await ok([
      ...["subs", "create", topic, "billing", "--start-at", "earliest", "--ack-timeout", "1m"],
      ...[
        "--max-attempts",
        "5",
        "--backoff-min",
        "2s",
        "--backoff-max",
        "1m",
        "--dead-letter-topic",
        `${topic}.dead`,
      ],
      ...["--filter", "region=eu", "--filter", "tier=gold", "--ordered"],
    ]);
    expect(created).toBe(`created subscription ${topic}/billing\n`);
    const { body } = await broker.json<{ config: unknown; stats: { backlog: number } }>(
      `/v1/topics/${topic}/subscriptions/billing`,
    );
    expect(body.config).toEqual({
      ackTimeout: 60_000,
      maxAttempts: 5,
      backoff: { min: 2_000, max: 60_000 },
      deadLetterTopic: `${topic}.dead`,
      filter: { attributes: { region: "eu", tier: "gold" } },
      ordered: true,
      paused: false,
      push: null,
    });
    expect(await ok(["subs", "create", topic, "billing", "--filter", "none", "--no-ordered"])).toBe(
      `updated subscription ${topic}/billing\n`,
    );
    const info = JSON.parse(await ok(["subs", "info", topic, "billing", "--json"]));
    expect(info.config).toMatchObject({ filter: null, ordered: false });
    expect(info.stats.backlog).toBe(3);
    expect(await ok(["subs", "info", topic, "billing"])).toContain("backlog        3 (0 in flight)\n");

    expect(lines(await ok(["subs", "ls", topic]))).toEqual([
      expect.stringMatching(/^NAME +BACKLOG +IN-FLIGHT +CONSUMERS +DEAD-LETTERED$/),
      expect.stringMatching(/^billing +3 +0 +0 +0$/),
    ]);

    expect(await ok(["subs", "seek", topic, "billing", "latest"])).toBe(
      `moved ${topic}/billing to cursor 4\n`,
    );
    expect(JSON.parse(await ok(["subs", "seek", topic, "billing", "2", "--json"]))).toEqual({ cursor: 2 });
    expect(await ok(["subs", "seek", topic, "billing", new Date(0).toISOString()])).toBe(
      `moved ${topic}/billing to cursor 1\n`,
    );

    expect(await ok(["subs", "rm", topic, "billing"])).toBe(`deleted subscription ${topic}/billing\n`);
    expect((await runCli(["subs", "info", topic, "billing"], { env })).stderr).toBe(
      "Not found: subscription billing does not exist (not_found)\n",
    );
  });
});

describe("subs pause, resume, purge and redrive", () => {
  it("pauses and resumes delivery, purges the backlog and redrives dead letters", async () => {
    const topic = freshTopic();
    const dead = `${topic}.dead`;
    await ok(["subs", "create", topic, "billing", "--start-at", "earliest", "--max-attempts", "1"]);
    await ok(["subs", "create", topic, "billing", "--dead-letter-topic", dead]);
    await broker.json(`/v1/topics/${topic}/batch`, {
      method: "POST",
      json: { messages: [{ data: 1 }, { data: 2 }] },
    });

    expect(await ok(["subs", "pause", topic, "billing"])).toBe(`paused subscription ${topic}/billing
`);
    const pull = () =>
      broker.json<{ messages: { seq: number }[] }>(`/v1/topics/${topic}/subscriptions/billing/pull`, {
        method: "POST",
        json: { max: 10 },
      });
    expect((await pull()).body.messages).toEqual([]);
    expect(await ok(["subs", "resume", topic, "billing"])).toBe(`resumed subscription ${topic}/billing
`);
    // One is nacked and runs out of its one attempt: dead-lettered. The other stays in flight.
    const pulled = (await pull()).body.messages;
    expect(pulled).toHaveLength(2);
    await broker.json(`/v1/topics/${topic}/subscriptions/billing/nack`, {
      method: "POST",
      json: { seqs: [1] },
    });
    const deadLetters = async () =>
      (await broker.json<{ messages: unknown[] }>(`/v1/topics/${dead}/messages?after=0`)).body.messages ?? [];
    for (let i = 0; i < 100 && (await deadLetters()).length === 0; i++) await sleep(100);
    expect(await deadLetters()).toHaveLength(1);

    expect(await ok(["subs", "redrive", topic, "billing"])).toBe(`redrove 1 messages to ${topic}/billing
`);
    expect(JSON.parse(await ok(["subs", "redrive", topic, "billing", "--json"]))).toMatchObject({
      redriven: 0,
    });
    expect(await ok(["subs", "purge", topic, "billing"])).toBe(`purged 2 messages from ${topic}/billing
`);
    const { body } = await broker.json<{ stats: Record<string, number> }>(
      `/v1/topics/${topic}/subscriptions/billing`,
    );
    expect(body.stats).toMatchObject({ backlog: 0, purged: 2, redriven: 1, deadLettered: 1 });
  });
});

describe("usage errors exit 2 and say what is wrong", () => {
  it.each([
    ["no command", [], "a command is missing"],
    ["an unknown command", ["publish", "t"], '"publish" is not a command'],
    [
      "an unknown subcommand",
      ["subs", "drop", "t", "s"],
      '"drop" is not a subs command (ls, create, info, rm, seek, pause, resume, purge, redrive)',
    ],
    ["an unknown option", ["topics", "ls", "--colour"], "Unknown option '--colour'"],
    ["a missing argument", ["subs", "info", "t"], "missing subscription"],
    ["an extra argument", ["topics", "rm", "a", "b"], "unexpected argument: b"],
    ["a bad duration", ["topics", "create", "t", "--max-age", "soon"], '--max-age: "soon" is not a duration'],
    ["a bad number", ["sub", "t", "s", "--max", "many"], "--max must be a whole number"],
    ["a bad position", ["subs", "seek", "t", "s", "yesterday"], "the position must be earliest, latest"],
    [
      "a URL that is not one",
      ["topics", "ls", "--url", "localhost:8787"],
      "the broker's URL must be http: or https:",
    ],
  ])("%s", async (_, args, message) => {
    const result = await runCli(args, { env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(message);
    expect(result.stderr).toMatch(/Run "edge-broker[a-z ]*--help" for usage\.\n$/);
  });
});

describe("configuration", () => {
  /** A loopback port nothing listens on: connections are refused at once. */
  const NOWHERE = "http://127.0.0.1:9";

  it("takes the broker's URL from EDGE_BROKER_URL, and --url over it", async () => {
    const topic = freshTopic();
    await broker.json(`/v1/topics/${topic}`, { method: "PUT", json: {} });
    const fromEnv = await runCli(["topics", "info", topic], { env: { EDGE_BROKER_URL: broker.url } });
    expect(fromEnv.code).toBe(0);
    const fromFlag = await runCli(["topics", "info", topic, "--url", broker.url], {
      env: { EDGE_BROKER_URL: NOWHERE },
    });
    expect(fromFlag.code).toBe(0);
    const flagWins = await runCli(["topics", "info", topic, "--url", NOWHERE], { env });
    expect(flagWins.code).toBe(1);
    expect(flagWins.stderr).toMatch(
      /^Cannot reach the broker: GET http:\/\/127\.0\.0\.1:9\/v1\/topics\/.*\(network\)\n$/,
    );
  });

  it("defaults to http://127.0.0.1:8787 without either", async (context) => {
    const taken = await fetch("http://127.0.0.1:8787/healthz").then(
      () => true,
      () => false,
    );
    if (taken) context.skip(); // a broker of the developer's own is running there
    const result = await runCli(["topics", "info", "t"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^Cannot reach the broker: GET http:\/\/127\.0\.0\.1:8787\/v1\/topics\/t: .*\(network\)\n$/,
    );
  });
});
