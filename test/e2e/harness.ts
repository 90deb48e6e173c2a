/**
 * A real broker process for end-to-end tests: `scripts/start.mjs` (what `npm start` runs), so
 * `wrangler dev` on workerd with SQLite state in a directory of the test's choosing, on a free
 * loopback port.
 *
 * Why `wrangler dev` and not Miniflare driven directly: Miniflare answers in about 0.5 s against
 * 1.5–2 s for `wrangler dev`, but it would need its own copy of wrangler.toml (bindings,
 * compatibility date and flags, DO classes) and its own bundling, and it would not be what users
 * run. A few seconds per test file buys tests of the real `npm start`, on the state layout it
 * writes.
 *
 * The process tree is start.mjs → wrangler → wrangler's CLI → workerd (two of them: the proxy that
 * owns the port and the runtime). It is spawned detached, in a process group of its own, so that
 * `kill()` can SIGKILL all of it at once: killing only the top process would leave workerd
 * running, holding the port and the SQLite files.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const START_SCRIPT = path.resolve(import.meta.dirname, "../../scripts/start.mjs");
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** How much of the broker's output is kept to explain a failure. */
const LOG_TAIL_CHARS = 8_000;

export interface BrokerOptions {
  /** Where SQLite state lives; a fresh temporary directory when omitted. */
  stateDir?: string;
  /** A free loopback port is picked when omitted. */
  port?: number;
  /** Extra `--var NAME:value` pairs; `AUTH` is `off` unless given. */
  vars?: Record<string, string>;
  /** Another wrangler config than the project's `wrangler.toml` (see `writeConfig`). */
  config?: string;
}

/** An HTTP answer with its body parsed: JSON (and problem+json) as a value, anything else as text. */
export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** `RequestInit` whose `json` is sent as a JSON body. */
export interface JsonInit extends RequestInit {
  json?: unknown;
}

/** A running broker. */
export interface Broker {
  readonly url: string;
  readonly port: number;
  readonly stateDir: string;
  /** Milliseconds from spawn until the broker answered HTTP. */
  readonly startupMs: number;
  /**
   * One request, body parsed.
   *
   * @example
   * const { status, body } = await broker.json<{ seq: number }>("/v1/topics/t/messages", {
   *   method: "POST",
   *   json: { hello: "world" },
   * });
   */
  json<T = unknown>(path: string, init?: JsonInit): Promise<JsonResponse<T>>;
  /** SIGTERM to the whole process group, then SIGKILL if it has not exited in time. */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group: a crash, with no chance to flush or close anything. */
  kill(): Promise<void>;
  /** The broker's recent output, for failure messages. */
  logs(): string;
}

/**
 * Starts a broker and waits until it answers HTTP (any status: `/healthz` may not exist yet).
 *
 * @example
 * const broker = await startBroker();
 * try {
 *   await broker.json("/healthz");
 * } finally {
 *   await broker.stop();
 *   await removeState(broker);
 * }
 */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const stateDir = options.stateDir ?? (await mkdtemp(path.join(tmpdir(), "edge-broker-e2e-")));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const args = [START_SCRIPT, "--port", String(port), "--persist-to", stateDir];
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);
  if (options.config !== undefined) args.push("--config", options.config);

  const started = performance.now();
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-LOG_TAIL_CHARS);
    if (process.env.E2E_LOG) process.stderr.write(chunk);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const broker: Broker = {
    url,
    port,
    stateDir,
    startupMs: 0,
    json: (p, init) => requestJson(`${url}${p}`, init),
    stop: () => stopGroup(child, exited, "SIGTERM"),
    kill: () => stopGroup(child, exited, "SIGKILL"),
    logs: () => tail,
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (true) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the broker exited before it answered (code ${child.exitCode}):\n${tail}`);
    }
    if (Date.now() > deadline) {
      await broker.kill();
      throw new Error(`the broker did not answer within ${READY_TIMEOUT_MS} ms:\n${tail}`);
    }
    if (await answers(url)) break;
    await sleep(50);
  }
  return { ...broker, startupMs: Math.round(performance.now() - started) };
}

/**
 * Removes a broker's state directory (after `stop` or `kill`).
 *
 * @example
 * await removeState(broker);
 */
export async function removeState(broker: Pick<Broker, "stateDir">): Promise<void> {
  await rm(broker.stateDir, { recursive: true, force: true });
}

/** A topic name no other test uses. */
export function freshTopic(): string {
  return `t-${crypto.randomUUID()}`;
}

async function requestJson<T>(target: string, init: JsonInit = {}): Promise<JsonResponse<T>> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  const res = await fetch(target, {
    ...rest,
    headers,
    body: json === undefined ? rest.body : JSON.stringify(json),
    signal: rest.signal ?? AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  const body = /^application\/(problem\+)?json/.test(type) && text !== "" ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, body: body as T };
}

/** True when anything answers HTTP at `url`. */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/**
 * Signals the whole process group (negative pid) and waits until every process in it is gone, so
 * that a restart on the same port and state directory never races the old runtime.
 */
async function stopGroup(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  signalGroup(pid, signal);
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(25);
  if (groupAlive(pid)) {
    signalGroup(pid, "SIGKILL");
    const hardDeadline = Date.now() + STOP_TIMEOUT_MS;
    while (groupAlive(pid) && Date.now() < hardDeadline) await sleep(25);
  }
  await exited;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/**
 * True while a process of the group is still running. On Linux a killed process stays in its
 * group as a zombie until init reaps it, which can take many seconds; a zombie holds no port and
 * no file, so only the living count. Elsewhere, any member counts.
 */
function groupAlive(pgid: number): boolean {
  if (process.platform === "linux") return livingMembers(pgid) > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function livingMembers(pgid: number): number {
  let living = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") living++;
  }
  return living;
}

/** A loopback port that was free a moment ago (the broker binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Writes a copy of the project's `wrangler.toml` with `edit` applied, for a broker that needs
 * other settings (say, a tiny rate limit). Paths in it are made absolute, since the copy lives
 * in a temporary directory; returns the copy's path.
 */
export async function writeConfig(edit: (toml: string) => string): Promise<string> {
  const root = path.resolve(import.meta.dirname, "../..");
  const original = await readFile(path.join(root, "wrangler.toml"), "utf8");
  const absolute = original
    .replace(/^main = "(.*)"$/m, (_, main) => `main = ${JSON.stringify(path.join(root, main))}`)
    .replace(/^directory = "(.*)"$/m, (_, dir) => `directory = ${JSON.stringify(path.join(root, dir))}`)
    .replace(
      /^command = "(.*)"$/m,
      (_, command) => `command = ${JSON.stringify(`cd ${root} && ${command}`)}`,
    );
  const edited = edit(absolute);
  if (edited === absolute) throw new Error("writeConfig: the edit changed nothing");
  const dir = await mkdtemp(path.join(tmpdir(), "edge-broker-config-"));
  const file = path.join(dir, "wrangler.toml");
  await writeFile(file, edited);
  return file;
}
