/**
 * The upgrade fixtures (test/fixtures/upgrade/<version>/, written by make-fixture.mjs there):
 * finding them, copying one with its stored times moved to now, and reading the API's view of
 * every topic, which the fixture recorded when it was written and a later release must match.
 *
 * Erasable TypeScript with node: imports only, so that make-fixture.mjs runs it on Node 22.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

export const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/upgrade");

/** What the manifest of a fixture holds (test/fixtures/upgrade/README.md). */
export interface Manifest {
  version: string;
  /** Epoch ms when the state was written: every stored time is relative to it. */
  writtenAt: number;
  /** Per database (`<object>` = each object of the namespace): statements moving times by :ms / :ns. */
  shift: Record<string, string[]>;
  snapshot: Snapshot;
  checks: Checks;
}

export interface Snapshot {
  topics: { name: string; createdAt: number }[];
  byName: Record<string, { info: unknown; log: unknown; subscriptions: unknown[] }>;
}

export interface Checks {
  leased: { topic: string; subscription: string; seqs: number[]; attempt: number; leaseExpiresAt: number }[];
  retries: { topic: string; subscription: string; seq: number; attempt: number; notBefore: number }[];
  delayed: { topic: string; subscription: string; seq: number; deliverAt: number }[];
  ordered: { topic: string; subscription: string; ack: number[]; released: number[] }[];
  idempotency: { topic: string; key: string; seq: number; id: string; batch?: boolean }[];
  deadLetters: {
    topic: string;
    subscription: string;
    seq: number;
    deadLetterTopic: string;
    unblock?: { topic: string; subscription: string };
  }[];
}

export interface Fixture {
  version: string;
  dir: string;
  manifest: Manifest;
}

/** Every fixture, oldest release first. */
export function fixtures(): Fixture[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(FIXTURES, entry.name, "manifest.json")))
    .map((entry) => {
      const dir = path.join(FIXTURES, entry.name);
      const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as Manifest;
      return { version: manifest.version, dir, manifest };
    })
    .sort((a, b) => compareVersions(a.version, b.version));
}

/** Orders `major.minor.patch` versions (pre-release tags are not used for fixtures). */
export function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a, b].map((v) => v.split(".").map(Number)) as [number[], number[]];
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Copies a fixture's state to a fresh directory and moves every stored time by `delta` ms, with
 * the fixture's own statements: with `delta = now − writtenAt` the copy is the state as if it had
 * been written just now. Returns the directory, for `startBroker({ stateDir })`.
 */
export function copyShifted(fixture: Fixture, delta: number): string {
  const stateDir = mkdtempSync(path.join(tmpdir(), `edge-broker-upgrade-${fixture.version}-`));
  cpSync(path.join(fixture.dir, "state"), stateDir, { recursive: true });
  const values = { ms: Math.round(delta), ns: BigInt(Math.round(delta)) * 1_000_000n };
  for (const [pattern, statements] of Object.entries(fixture.manifest.shift)) {
    for (const file of databases(stateDir, pattern)) {
      const db = new DatabaseSync(file);
      try {
        for (const statement of statements) {
          // Bind only the names a statement uses: node:sqlite refuses unknown ones.
          const used = Object.fromEntries(
            Object.entries(values).filter(([name]) => statement.includes(`:${name}`)),
          );
          db.prepare(statement).run(used);
        }
      } finally {
        db.close();
      }
    }
  }
  return stateDir;
}

/** The databases a shift pattern names: `<object>` is every object's file of that namespace. */
function databases(stateDir: string, pattern: string): string[] {
  const dir = path.join(stateDir, path.dirname(pattern));
  const name = path.basename(pattern);
  if (!existsSync(dir)) return [];
  if (name !== "<object>.sqlite") return existsSync(path.join(dir, name)) ? [path.join(dir, name)] : [];
  return readdirSync(dir)
    .filter((file) => file.endsWith(".sqlite") && file !== "metadata.sqlite")
    .map((file) => path.join(dir, file));
}

/** The fields of the API's answers that are epoch times. */
const TIME_FIELDS = new Set(["publishedAt", "deliverAt", "createdAt", "leaseExpiresAt"]);

/** `value` with every epoch time in it moved by `delta` ms. */
export function shiftTimes<T>(value: T, delta: number): T {
  if (Array.isArray(value)) return value.map((item) => shiftTimes(item, delta)) as T;
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key,
      TIME_FIELDS.has(key) && typeof v === "number" ? v + delta : shiftTimes(v, delta),
    ]),
  ) as T;
}

/** The part of a running broker this module needs (test/e2e/harness.ts's Broker). */
interface Reader {
  json<T = unknown>(path: string): Promise<{ status: number; body: T }>;
}

/**
 * The API's answers about every topic: its info (without `usage`, which counts since the object
 * last started), its whole log, and its subscriptions.
 */
export async function snapshotOf(broker: Reader): Promise<Snapshot> {
  const get = async <T>(url: string): Promise<T> => {
    const res = await broker.json<T>(url);
    if (res.status !== 200) throw new Error(`GET ${url} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const { topics } = await get<{ topics: Snapshot["topics"] }>("/v1/topics?limit=1000");
  const snapshot: Snapshot = { topics, byName: {} };
  for (const { name } of topics) {
    const { usage: _usage, ...info } = await get<Record<string, unknown>>(`/v1/topics/${name}`);
    const log = await get(`/v1/topics/${name}/messages?after=0&limit=1000`);
    const { subscriptions } = await get<{ subscriptions: unknown[] }>(`/v1/topics/${name}/subscriptions`);
    snapshot.byName[name] = { info, log, subscriptions };
  }
  return snapshot;
}
