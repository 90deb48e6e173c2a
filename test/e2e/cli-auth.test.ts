/**
 * `edge-broker` against a real broker with auth on: tokens minted by the broker or signed locally
 * are tokens the broker accepts, with exactly the rights asked for, and a refused request prints
 * the problem and exits 1.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-process";
import { type Broker, freshTopic, removeState, startBroker } from "./harness";

const ADMIN_KEY = "cli-admin-key-0123456789";
const JWT_SECRET = "cli-jwt-secret-0123456789-0123456789";

let broker: Broker;
let dir: string;

beforeAll(async () => {
  broker = await startBroker({ vars: { AUTH: "required", ADMIN_KEY, JWT_SECRET } });
  dir = await mkdtemp(path.join(tmpdir(), "edge-broker-cli-auth-"));
});

afterAll(async () => {
  await broker?.stop();
  if (broker) await removeState(broker);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const as = (token?: string) => ({
  EDGE_BROKER_URL: broker.url,
  ...(token !== undefined && { EDGE_BROKER_TOKEN: token }),
});

describe("edge-broker token", () => {
  it("has the broker mint a token with the admin key, scoped to the rights asked for", async () => {
    const prefix = freshTopic();
    const minted = await runCli(
      ["token", "--cap", `${prefix}.*=publish;${prefix}.read=subscribe`, "--ttl", "15m", "--sub", "svc-7"],
      { env: as(ADMIN_KEY) },
    );
    expect(minted).toMatchObject({ code: 0, stderr: "" });
    const token = minted.stdout.trim();
    expect(minted.stdout).toBe(`${token}\n`);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      cap: { [`${prefix}.*`]: ["publish"], [`${prefix}.read`]: ["subscribe"] },
      sub: "svc-7",
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);

    expect((await runCli(["pub", `${prefix}.a`, "hello"], { env: as(token) })).code).toBe(0);
    const elsewhere = await runCli(["pub", freshTopic(), "hello"], { env: as(token) });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/^Forbidden: .* \(forbidden\)\n$/);
    // publish does not imply reading.
    const read = await runCli(["topics", "info", `${prefix}.a`], { env: as(token) });
    expect(read.code).toBe(1);
    expect(read.stderr).toMatch(/^Forbidden: .*\(forbidden\)\n$/);
  });

  it("prints the token with its expiry as JSON with --json", async () => {
    const before = Date.now();
    const minted = await runCli(["token", "--cap", "*=subscribe", "--json"], { env: as(ADMIN_KEY) });
    const body = JSON.parse(minted.stdout);
    expect(body).toEqual({ token: expect.any(String), expiresAt: expect.any(Number) });
    expect(body.expiresAt).toBeGreaterThanOrEqual(before + 3_600_000 - 1_000);
  });

  it("is refused by the broker without the admin key", async () => {
    const scoped = (await runCli(["token", "--cap", "*=publish"], { env: as(ADMIN_KEY) })).stdout.trim();
    const refused = await runCli(["token", "--cap", "*=admin"], { env: as(scoped) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^Forbidden: .*\(forbidden\)\n$/);
    const anonymous = await runCli(["token", "--cap", "*=admin"], { env: as() });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^Unauthorized: .*\(unauthorized\)\n$/);
  });

  it("signs with --local from JWT_SECRET in .dev.vars, and the broker takes the token", async () => {
    const project = await mkdtemp(path.join(dir, "p-"));
    await writeFile(path.join(project, ".dev.vars"), `JWT_SECRET="${JWT_SECRET}"\n`);
    const topic = freshTopic();
    const signed = await runCli(["token", "--local", "--cap", `${topic}=admin`, "--ttl", "1h"], {
      env: {},
      cwd: project,
    });
    expect(signed.code).toBe(0);
    const token = signed.stdout.trim();
    expect((await runCli(["topics", "create", topic], { env: as(token) })).stdout).toBe(
      `created topic ${topic}\n`,
    );
    expect((await runCli(["topics", "rm", freshTopic()], { env: as(token) })).code).toBe(1);
  });

  it("exits 2 on a --cap the broker would refuse, before asking it", async () => {
    const result = await runCli(["token", "--cap", "orders.*=delete"], { env: as(ADMIN_KEY) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--cap: "delete" is not a right (publish, subscribe, admin)');
  });
});

describe("refused requests", () => {
  it("print the problem's title, detail and code and exit 1, over HTTP and over WebSocket", async () => {
    const topic = freshTopic();
    const noCredential = await runCli(["topics", "ls"], { env: as() });
    expect(noCredential.code).toBe(1);
    expect(noCredential.stderr).toMatch(/^Unauthorized: .+ \(unauthorized\)\n$/);

    const wrongKey = await runCli(["pub", topic, "x", "--token", "not-the-admin-key"], {
      env: as(ADMIN_KEY),
    });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/^Unauthorized: .+ \(unauthorized\)\n$/);

    await runCli(["subs", "create", topic, "s"], { env: as(ADMIN_KEY) });
    const publisher = (
      await runCli(["token", "--cap", `${topic}=publish`], { env: as(ADMIN_KEY) })
    ).stdout.trim();
    for (const args of [
      ["sub", topic, "s"],
      ["tail", topic],
    ]) {
      const result = await runCli(args, { env: as(publisher) });
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr, args.join(" ")).toMatch(/^Forbidden: .+ \(forbidden\)\n$/);
    }
  });
});
