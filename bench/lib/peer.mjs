/**
 * The peer for side-by-side numbers: nginx with the nchan module, storing in Redis with
 * `appendfsync always`, configured from bench/peer/ and run in a temporary directory on loopback
 * ports. On Debian/Ubuntu:
 *
 *   apt-get install libnginx-mod-nchan redis-server
 *
 * (libnginx-mod-nchan pulls in nginx.) When a part is missing the benchmark says so and skips
 * the peer.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { processTree } from "./proc.mjs";
import { peerTarget } from "./targets.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const configDir = path.join(here, "..", "peer");
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export const PEER_INSTALL = "apt-get install libnginx-mod-nchan redis-server";

const MODULE_CANDIDATES = [
  process.env.NCHAN_MODULE,
  "/usr/lib/nginx/modules/ngx_nchan_module.so",
  "/usr/lib64/nginx/modules/ngx_nchan_module.so",
  "/usr/share/nginx/modules/ngx_nchan_module.so",
];

function findExecutable(name) {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  return (
    dirs
      .filter((d) => path.isAbsolute(d))
      .map((d) => path.join(d, name))
      .find((file) => existsSync(file)) ?? null
  );
}

/** What is installed: `{ nginx, module, redis }`, or `{ missing: [...] }`. */
export function detectPeer() {
  const found = {
    nginx: findExecutable("nginx"),
    module: MODULE_CANDIDATES.find((file) => file && existsSync(file)) ?? null,
    redis: findExecutable("redis-server"),
  };
  const missing = [
    !found.nginx && "nginx",
    !found.module && "the nchan module (ngx_nchan_module.so)",
    !found.redis && "redis-server",
  ].filter(Boolean);
  return missing.length ? { missing } : found;
}

/** A port the kernel just handed out on 127.0.0.1 (free at that moment). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.setTimeout(1_000);
    socket.on("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
    socket.on("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitForPort(port, child, what, logFile) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await canConnect(port)) return;
    await sleep(50);
  }
  const log = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : "";
  throw new Error(`${what} did not start on 127.0.0.1:${port}\n${log}`);
}

function render(template, values) {
  return readFileSync(path.join(configDir, template), "utf8").replace(/\{\{(\w+)\}\}/g, (_, key) => {
    if (!(key in values)) throw new Error(`bench/peer/${template}: no value for {{${key}}}`);
    return String(values[key]);
  });
}

/**
 * Starts Redis and nginx+nchan in `workDir`. Resolves `{ target, serverPids, stop }`.
 *
 * @param {{ nginx: string, module: string, redis: string }} installed from detectPeer()
 */
export async function startPeer(installed, workDir) {
  mkdirSync(workDir, { recursive: true });
  const values = {
    DIR: workDir,
    PORT: await freePort(),
    REDIS_PORT: await freePort(),
    NCHAN_MODULE: installed.module,
    USER: os.userInfo().username,
  };
  writeFileSync(path.join(workDir, "redis.conf"), render("redis.conf", values));
  writeFileSync(path.join(workDir, "nginx.conf"), render("nginx.conf", values));
  const output = openSync(path.join(workDir, "peer-output.log"), "a");
  const children = [];
  // If the driver dies without stopping the peer (an uncaught error), its servers go with it.
  const killAll = () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  const stop = async () => {
    process.removeListener("exit", killAll);
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGTERM");
      if (!(await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]))) {
        child.kill("SIGKILL");
      }
    }
  };
  try {
    const redis = spawn(installed.redis, [path.join(workDir, "redis.conf")], {
      stdio: ["ignore", output, output],
    });
    children.push(redis);
    await waitForPort(values.REDIS_PORT, redis, "redis-server", path.join(workDir, "redis.log"));
    const nginx = spawn(
      installed.nginx,
      ["-p", workDir, "-c", path.join(workDir, "nginx.conf"), "-e", path.join(workDir, "nginx-error.log")],
      { stdio: ["ignore", output, output] },
    );
    children.push(nginx);
    await waitForPort(values.PORT, nginx, "nginx", path.join(workDir, "nginx-error.log"));
    return {
      target: peerTarget(`http://127.0.0.1:${values.PORT}`),
      /** nginx master and worker, and Redis. */
      serverPids: [...processTree(nginx.pid), redis.pid],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
