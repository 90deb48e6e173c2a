/**
 * `npm run setup` (scripts/setup.mjs, scripts/setup-plan.ts): what it decides for a fresh account
 * and for a run again, what its dry run prints, and that it refuses without credentials. Nothing
 * here reaches Cloudflare: the dry run never starts wrangler, the refusal comes before it would,
 * and every run of the script gets an empty home, no credentials, and an API address on loopback
 * that nothing listens on, so that a mistake fails here instead of going out.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { version } from "../../package.json";
import {
  findCredentials,
  generateSecret,
  planLines,
  SECRETS,
  secretActions,
  summaryLines,
} from "../../scripts/setup-plan";

const SCRIPT = path.resolve(import.meta.dirname, "../../scripts/setup.mjs");
let home: string;

beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), "edge-broker-setup-test-"));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

/** Runs the setup script as `npm run setup -- …` would, offline and with no credentials unless given. */
function setup(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [SCRIPT, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, ".config"),
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_API_BASE_URL: "http://127.0.0.1:9/client/v4",
      ...env,
    } as unknown as NodeJS.ProcessEnv,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the secrets a run creates or keeps", () => {
  it("creates both on a fresh account", () => {
    expect(secretActions(new Set())).toEqual([
      { name: "ADMIN_KEY", action: "create" },
      { name: "JWT_SECRET", action: "create" },
    ]);
  });

  it("keeps both when run again, and creates only what is missing", () => {
    expect(secretActions(new Set(SECRETS)).map((s) => s.action)).toEqual(["keep", "keep"]);
    expect(secretActions(new Set(["ADMIN_KEY", "OTHER"]))).toEqual([
      { name: "ADMIN_KEY", action: "keep" },
      { name: "JWT_SECRET", action: "create" },
    ]);
  });

  it("generates 32 random bytes per secret, long enough for the broker's checks", () => {
    const secrets = Array.from({ length: 50 }, generateSecret);
    expect(new Set(secrets).size).toBe(50);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, "base64url")).toHaveLength(32);
    }
  });
});

describe("where credentials come from", () => {
  it("finds none in an empty home without variables", () => {
    expect(findCredentials({}, home, "linux")).toBeNull();
    expect(findCredentials({ CLOUDFLARE_API_KEY: "k" }, home, "linux")).toBeNull();
  });

  it("finds an API token, a global key with its email, or wrangler's login file", () => {
    expect(findCredentials({ CLOUDFLARE_API_TOKEN: "t" }, home, "linux")).toMatch(/CLOUDFLARE_API_TOKEN/);
    expect(findCredentials({ CLOUDFLARE_API_KEY: "k", CLOUDFLARE_EMAIL: "e" }, home, "linux")).toMatch(
      /CLOUDFLARE_API_KEY/,
    );
    const config = path.join(home, ".config", ".wrangler", "config");
    mkdirSync(config, { recursive: true });
    expect(findCredentials({}, home, "linux")).toBeNull();
    writeFileSync(path.join(config, "default.toml"), 'oauth_token = "x"\n');
    expect(findCredentials({}, home, "linux")).toMatch(/wrangler's login/);
  });

  it("looks where wrangler looks: ~/.wrangler first, then XDG_CONFIG_HOME", () => {
    const xdg = path.join(home, "xdg");
    mkdirSync(path.join(xdg, ".wrangler", "config"), { recursive: true });
    writeFileSync(path.join(xdg, ".wrangler", "config", "default.toml"), "");
    expect(findCredentials({ XDG_CONFIG_HOME: xdg }, home, "linux")).toMatch(/xdg/);
    mkdirSync(path.join(home, ".wrangler"));
    expect(findCredentials({ XDG_CONFIG_HOME: xdg }, home, "linux")).toBeNull();
  });
});

describe("the plan and the summary", () => {
  it("plans the deploy, the secrets and the checks, with the release it deploys", () => {
    const plan = planLines({ worker: "edge-broker", version, credentials: "a token", url: null }).join("\n");
    expect(plan).toContain("Worker: edge-broker (wrangler.toml)");
    expect(plan).toContain("Cloudflare credentials: a token");
    for (const command of ["wrangler deploy", "wrangler secret list --format json", "wrangler secret bulk"]) {
      expect(plan).toContain(`       ${command}\n`);
    }
    expect(plan).toContain("an existing secret is never replaced");
    expect(plan).toContain(`/healthz answers {"ok":true,"version":"${version}"}`);
  });

  it("prints a new admin key once, with a curl line that uses it", () => {
    const lines = summaryLines({
      url: "https://edge-broker.example.workers.dev",
      version,
      created: { ADMIN_KEY: "new-key-0123456789", JWT_SECRET: "s" },
      kept: [],
    }).join("\n");
    expect(lines.split("new-key-0123456789")).toHaveLength(3); // the key line and the curl line
    expect(lines).toContain("shown this once");
    expect(lines).toContain(
      "curl -s -X POST https://edge-broker.example.workers.dev/v1/topics/hello/messages -H 'authorization: Bearer new-key-0123456789'",
    );
    expect(lines).not.toContain("JWT_SECRET: s");
  });

  it("says so when run again: secrets kept, the key not shown, a placeholder in the curl line", () => {
    const lines = summaryLines({
      url: "https://b.example",
      version,
      created: {},
      kept: ["ADMIN_KEY", "JWT_SECRET"],
    }).join("\n");
    expect(lines).toContain("ADMIN_KEY: kept from an earlier setup");
    expect(lines).toContain("JWT_SECRET: kept from an earlier setup");
    expect(lines).toContain("Bearer <ADMIN_KEY>");
  });
});

describe("npm run setup", () => {
  it("--dry-run on a machine without credentials prints the whole plan and says a real run would stop", () => {
    const { status, stdout } = setup(["--dry-run"]);
    expect(status).toBe(0);
    expect(stdout).toContain("dry run, nothing is sent to Cloudflare");
    expect(stdout).toContain(`Worker: edge-broker (wrangler.toml), release ${version}`);
    expect(stdout).toContain("Cloudflare credentials: none found. A real run stops here");
    expect(stdout).toMatch(
      /1\. Deploy[\s\S]*2\. Read[\s\S]*3\. For each secret[\s\S]*4\. Check[\s\S]*6\. Print/,
    );
  });

  it("--dry-run with credentials names where they come from, and checks the --url given", () => {
    const { status, stdout } = setup(["--dry-run", "--url", "https://broker.example.com/"], {
      CLOUDFLARE_API_TOKEN: "not-a-real-token",
    });
    expect(status).toBe(0);
    expect(stdout).toContain("Cloudflare credentials: the CLOUDFLARE_API_TOKEN environment variable");
    expect(stdout).toContain("https://broker.example.com/healthz answers");
  });

  it("refuses a real run without credentials, before anything is deployed", () => {
    const { status, stdout, stderr } = setup([]);
    expect(status).toBe(1);
    expect(stderr).toContain("No Cloudflare credentials found: run `npx wrangler login`");
    expect(stdout).not.toContain("Deploying");
  });
});
