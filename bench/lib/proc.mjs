/**
 * CPU time of processes, from /proc (Linux), so that each phase can say how busy the server and
 * the load generator were: a server at 100% of one core is bound by its own thread, one well
 * below it is waiting on something else (fsync, timers, the client).
 */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of one process in ms, or 0 when it is gone (or /proc is absent). */
function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Every live descendant of `root`, and `root` itself. */
export function processTree(root) {
  const children = new Map();
  let entries = [];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [root];
  }
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // the process exited while we looked
    }
  }
  const tree = [];
  const queue = [root];
  while (queue.length && tree.length < 1_000) {
    const pid = queue.shift();
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * Starts a CPU meter over some process ids; `stop()` gives the CPU each used while it ran, as a
 * percentage of one core (200% = both cores of this machine busy).
 *
 * @param {Record<string, number[]>} groups e.g. { server: [workerdPid], client: [process.pid] }
 */
export function cpuMeter(groups) {
  const started = performance.now();
  const before = Object.fromEntries(
    Object.entries(groups).map(([name, pids]) => [name, pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0)]),
  );
  return {
    stop() {
      const wall = performance.now() - started;
      return Object.fromEntries(
        Object.entries(groups).map(([name, pids]) => {
          const used = pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0) - before[name];
          return [name, wall > 0 ? Math.round((used / wall) * 100) : null];
        }),
      );
    },
  };
}
