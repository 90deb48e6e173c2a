/**
 * CPU profiles of a worker's isolate through workerd's V8 inspector (`npm run bench -- --profile`),
 * summarised by the source module each sample falls in. The bundle that wrangler builds marks each
 * module with a `// path/to/module.ts` comment line, which maps a bundle line back to its module.
 *
 * Time outside JavaScript (HTTP parsing, the RPC hop, SQLite, fsync, the event loop) shows up as
 * `(program)` or `(idle)`, or under the native function JavaScript called (`exec` for SQLite).
 */
import { readFileSync } from "node:fs";

const COMMAND_TIMEOUT_MS = 30_000;

/** Opens the inspector session of the worker named `name` (e.g. "broker"). */
export async function inspectorSession(inspectorUrl, name) {
  const origin = inspectorUrl.replace(/^ws/, "http");
  const res = await fetch(`${origin}/json/list`, { signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) });
  const targets = await res.json();
  const target = targets.find((t) => `${t.id} ${t.title}`.includes(`core:user:${name}`));
  if (!target) throw new Error(`no inspector target for ${name}: ${targets.map((t) => t.id).join(", ")}`);
  const url = target.webSocketDebuggerUrl ?? `${origin.replace(/^http/, "ws")}/${target.id}`;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot open ${url}`)), { once: true });
  });
  let nextId = 1;
  const waiting = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    if (message.error) pending.reject(new Error(JSON.stringify(message.error)));
    else pending.resolve(message.result);
  });
  return {
    send(method, params = {}) {
      const id = nextId++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), COMMAND_TIMEOUT_MS);
        waiting.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
      });
    },
    close: () => ws.close(),
  };
}

/** Runs `during()` under the sampling profiler and returns the V8 profile. */
export async function cpuProfile(session, during, intervalUs = 200) {
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.send("Profiler.start");
  let failure;
  try {
    await during();
  } catch (error) {
    failure = error;
  }
  const { profile } = await session.send("Profiler.stop");
  if (failure) throw failure;
  return profile;
}

/** Module boundaries of a bundle: sorted [firstLine, module] from esbuild's path comments. */
function moduleIndex(bundleFile) {
  const index = [];
  readFileSync(bundleFile, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const match = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(line);
      if (match) index.push([i, match[1].replace(/^node_modules\/(\.pnpm\/)?/, "")]);
    });
  return index;
}

function moduleAt(index, line) {
  let lo = 0;
  let hi = index.length - 1;
  let found = "(bundle)";
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (index[mid][0] <= line) {
      found = index[mid][1];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Groups a package's modules under the package (hono/…, zod/…) and keeps src/ files apart. */
function area(module) {
  if (module.startsWith("src/")) return module;
  const parts = module.split("/");
  return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
}

/**
 * Self time per source area and per function, in % of all samples.
 *
 * @returns {{ areas: [string, number][], functions: [string, number][], samples: number }}
 */
export function summarize(profile, bundleFile) {
  const index = moduleIndex(bundleFile);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfSamples = new Map();
  for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const areas = new Map();
  const functions = new Map();
  const add = (map, key, count) => map.set(key, (map.get(key) ?? 0) + count);
  for (const [id, count] of selfSamples) {
    const frame = nodes.get(id).callFrame;
    const native = !frame.url;
    const where = native ? "(native / runtime)" : area(moduleAt(index, frame.lineNumber));
    const name = frame.functionName || "(anonymous)";
    const label = native ? name : `${name} (${where})`;
    add(areas, name.startsWith("(") && native ? name : where, count);
    add(functions, label, count);
  }
  const top = (map, k) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([key, count]) => [key, (count / total) * 100]);
  return { areas: top(areas, 20), functions: top(functions, 25), samples: total };
}

/**
 * CPU time by role: each sample goes to the first of `owners` (module path prefixes, most specific
 * first, such as `src/topic/relays.ts` before `src/topic/`) that any frame of its stack lies in,
 * so JSON encoding, a socket's `send` or SQLite called on behalf of a role counts as the role's.
 * Samples with no such frame (the worker's routing, the runtime, GC) are `other`; `(idle)` is
 * left out. Stacks do not cross objects: an RPC runs in the callee's own stack.
 *
 * @param {string[]} owners
 * @returns {{ us: Record<string, number>, samples: number }}
 */
export function splitByOwner(profile, bundleFile, owners) {
  const index = moduleIndex(bundleFile);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const ownerOf = new Map();
  const find = (leaf) => {
    if (ownerOf.has(leaf)) return ownerOf.get(leaf);
    if (nodes.get(leaf).callFrame.functionName === "(idle)") return "(idle)";
    let best = owners.length;
    for (let id = leaf; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id).callFrame;
      if (!frame.url) continue;
      const module = moduleAt(index, frame.lineNumber);
      const rank = owners.findIndex((prefix) => module.startsWith(prefix));
      if (rank >= 0 && rank < best) best = rank;
    }
    const owner = best < owners.length ? owners[best] : "other";
    ownerOf.set(leaf, owner);
    return owner;
  };
  const us = Object.fromEntries([...owners, "other"].map((k) => [k, 0]));
  const hot = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const owner = find(profile.samples[i]);
    if (owner === "(idle)") continue;
    const delta = profile.timeDeltas[i] ?? 0;
    us[owner] += delta;
    const name = nodes.get(profile.samples[i]).callFrame.functionName || "(anonymous)";
    const key = `${owner}: ${name}`;
    hot.set(key, (hot.get(key) ?? 0) + delta);
  }
  const top = [...hot.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  return { us, samples: profile.samples.length, top };
}
