import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** `npm run token` runs `edge-broker token --local`: signing here with JWT_SECRET, no broker needed. */
const CLI = resolve(import.meta.dirname, "../../cli/edge-broker.mjs");
const SECRET = "s3cret-s3cret-s3cret-s3cret-0123";
const key = new TextEncoder().encode(SECRET);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edge-broker-token-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI with a clean environment (plus `env`) in `cwd`; never throws. */
async function run(args: string[], env: Record<string, string> = {}, cwd = dir) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [CLI, "token", "--local", ...args],
      {
        cwd,
        // Cast: the generated worker types make ProcessEnv require the worker's vars.
        env: { PATH: process.env.PATH ?? "", ...env } as unknown as NodeJS.ProcessEnv,
        timeout: 20_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("npm run token (edge-broker token --local)", () => {
  it("prints an HS256 token with the cap, ttl and sub asked for", async () => {
    const out = await run(
      ["--cap", "orders.*=publish,subscribe;chat.room-1=subscribe", "--ttl", "15m", "--sub", "svc"],
      { JWT_SECRET: SECRET },
    );
    expect(out.code).toBe(0);
    const { payload, protectedHeader } = await jwtVerify(out.stdout.trim(), key, { algorithms: ["HS256"] });
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload.cap).toEqual({ "orders.*": ["publish", "subscribe"], "chat.room-1": ["subscribe"] });
    expect(payload.sub).toBe("svc");
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);
  });

  it("reads JWT_SECRET, JWT_ISSUER and JWT_AUDIENCE from .dev.vars when the environment lacks them", async () => {
    const project = await mkdtemp(join(dir, "p-"));
    await writeFile(
      join(project, ".dev.vars"),
      `# local secrets\nJWT_SECRET="${SECRET}"\nJWT_ISSUER=https://issuer.example\nJWT_AUDIENCE='edge-broker'\n`,
    );
    const out = await run(["--cap", "*=admin"], {}, project);
    expect(out.code).toBe(0);
    const { payload } = await jwtVerify(out.stdout.trim(), key, {
      algorithms: ["HS256"],
      issuer: "https://issuer.example",
      audience: "edge-broker",
    });
    expect(payload.cap).toEqual({ "*": ["admin"] });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it.each([
    ["no --cap", [], "--cap is required"],
    ["a bad pattern", ["--cap", "a*b=publish"], "not a topic name"],
    ["an unknown right", ["--cap", "a=delete"], "not a right"],
    ["a bad ttl", ["--cap", "a=publish", "--ttl", "soon"], "not a duration"],
    ["a ttl past 366 days", ["--cap", "a=publish", "--ttl", "400d"], "366d"],
    ["an unknown option", ["--cap", "a=publish", "--forever"], "Unknown option"],
  ])("exits 2 with usage on %s", async (_, args, message) => {
    const out = await run(args, { JWT_SECRET: SECRET });
    expect(out.code).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain(message);
    expect(out.stderr).toContain("usage:");
  });

  it("refuses to sign without JWT_SECRET or with one the broker would refuse", async () => {
    expect((await run(["--cap", "a=publish"])).stderr).toContain("JWT_SECRET is not set");
    expect((await run(["--cap", "a=publish"], { JWT_SECRET: "short" })).stderr).toContain(
      "at least 32 bytes",
    );
  });
});
