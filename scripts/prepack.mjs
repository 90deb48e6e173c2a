#!/usr/bin/env node
/**
 * `npm pack` and `npm publish` run this first (the `prepack` script): a clean build of the client
 * SDK into dist/client and dist/protocol, and of the declarations of `edge-broker/worker` (the
 * RPC entrypoint's types, tsconfig.worker.json) into dist/worker, then a check that every file
 * package.json's `exports` and `typesVersions` name is there, so that no tarball ships an export
 * that does not resolve.
 *
 * @example
 * npm pack    # runs it, then packs package.json's `files`
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));

// A file whose source was removed would otherwise stay in dist/ and be packed.
for (const dir of ["dist/client", "dist/protocol", "dist/worker"])
  rmSync(path.join(ROOT, dir), { recursive: true, force: true });
for (const project of ["tsconfig.client.json", "tsconfig.worker.json"]) {
  execFileSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", project], {
    cwd: ROOT,
    stdio: "inherit",
  });
}

const targets = [
  ...Object.values(pkg.exports).flatMap((entry) =>
    typeof entry === "string" ? [entry] : Object.values(entry),
  ),
  ...Object.values(pkg.typesVersions ?? {}).flatMap((map) => Object.values(map).flat()),
];
const missing = targets.filter((target) => !existsSync(path.join(ROOT, target)));
if (missing.length > 0) {
  console.error(`package.json names files the build did not write: ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`prepack: built the client SDK and the worker types; ${targets.length} export targets present`);
