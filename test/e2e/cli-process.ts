/**
 * The `edge-broker` command as a child process with real stdin, stdout and stderr: `runCli` for a
 * command that ends, `startCli` for one that runs until it is stopped (`sub`, `tail`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const CLI = path.join(ROOT, "cli", "edge-broker.mjs");
const RUN_TIMEOUT_MS = 60_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The environment, on top of PATH alone (no EDGE_BROKER_* from the machine running the tests). */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed; without it stdin is closed at once. */
  input?: string | Buffer;
  cwd?: string;
}

/** The environment of a run: PATH, and what the test gives. */
export function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Cast: the generated worker types make ProcessEnv require the worker's vars.
  return { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...env } as unknown as NodeJS.ProcessEnv;
}

/**
 * Runs `edge-broker …args` to its end.
 *
 * @example
 * const { code, stdout } = await runCli(["topics", "ls"], { env: { EDGE_BROKER_URL: broker.url } });
 */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? ROOT,
      env: cliEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input);
  });
}

/** A command that runs until it is stopped, with its output so far. */
export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (or stderr) satisfies `test`; rejects after `timeoutMs` with the output. */
  waitFor(test: (output: { stdout: string; stderr: string }) => boolean, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (Ctrl-C by default) and resolves with how it ended. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
  /** Resolves with how it ended, by itself. */
  exited(): Promise<CliResult>;
}

/**
 * Starts `edge-broker …args` and leaves it running.
 *
 * @example
 * const tail = startCli(["tail", topic], { env });
 * await tail.waitFor(({ stderr }) => stderr.includes("tailing"));
 * const { code } = await tail.stop();
 */
export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cliEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    changed();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    changed();
  });
  const closed = new Promise<CliResult>((resolve) => {
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitFor: (test, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!test({ stdout, stderr })) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for output\nstdout: ${stdout}\nstderr: ${stderr}`));
        }, timeoutMs);
        const ended = () => {
          cleanup();
          reject(
            new Error(`the command ended first (${child.exitCode})\nstdout: ${stdout}\nstderr: ${stderr}`),
          );
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("close", ended);
        };
        listeners.add(check);
        child.once("close", ended);
        check();
      }),
    stop: (signal = "SIGINT") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return closed;
    },
    exited: () => closed,
  };
}

/**
 * Runs a command line in bash, in the repository, as a reader would type it. With
 * `interruptAfterLines`, the command runs until Ctrl-C: it gets SIGINT (its whole process group,
 * as a terminal sends it) once it has printed that many lines.
 *
 * @example
 * const { code, stdout } = await runShell("printf 'a\\n' | npx edge-broker pub t", { env });
 */
export function runShell(
  command: string,
  options: { env?: Record<string, string>; interruptAfterLines?: number | undefined } = {},
): Promise<CliResult & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["--norc", "--noprofile", "-c", command], {
      cwd: ROOT,
      env: cliEnv(options.env),
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const enough = options.interruptAfterLines;
      if (enough !== undefined && !interrupted && lines(stdout).length >= enough) {
        interrupted = true;
        process.kill(-(child.pid as number), "SIGINT");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      process.kill(-(child.pid as number), "SIGKILL");
      reject(new Error(`${command} did not finish\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The lines of an output, without the empty one after the last newline. */
export const lines = (text: string): string[] => text.split("\n").filter((line) => line !== "");
