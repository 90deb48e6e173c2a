#!/usr/bin/env node
/**
 * The API's OpenAPI document, written from the code (src/http/openapi/document.ts, the same
 * function `/v1/openapi.json` answers with), and what is made from it:
 *
 *   node scripts/openapi.mjs                  write dist/openapi/openapi.json
 *   node scripts/openapi.mjs --lint           … and lint it with Redocly (`npm run lint:openapi`)
 *   node scripts/openapi.mjs --docs           … and render public/docs.html with Redoc (`/docs`)
 *
 * `--docs` renders again only when the document changed since the page was made: wrangler runs it
 * before every `wrangler dev` and `wrangler deploy` ([build] in wrangler.toml).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "dist", "openapi");
const documentFile = path.join(outDir, "openapi.json");
const docsPage = path.join(root, "public", "docs.html");
const docsStamp = path.join(outDir, "docs.sha256");
const redocly = path.join(root, "node_modules", "@redocly", "cli", "bin", "cli.js");

/** Bundles the document's module (TypeScript, zod) for Node and calls it. */
async function generate() {
  mkdirSync(outDir, { recursive: true });
  const bundle = path.join(outDir, `document-${process.pid}.mjs`);
  await build({
    entryPoints: [path.join(root, "src", "http", "openapi", "document.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    outfile: bundle,
    logLevel: "warning",
  });
  try {
    const { openApiDocument } = await import(pathToFileURL(bundle).href);
    return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
  } finally {
    rmSync(bundle, { force: true });
  }
}

/**
 * Writes a file whole or not at all: brokers started side by side (the end-to-end tests) each run
 * this before `wrangler dev`, and none may read another's half-written file.
 */
function writeWhole(file, text) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/** Runs the Redocly CLI, failing this script when it fails. */
function redoclyRun(args) {
  const run = spawnSync(process.execPath, [redocly, ...args], { stdio: "inherit", cwd: root });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

const text = await generate();
writeWhole(documentFile, text);
console.log(`wrote ${path.relative(root, documentFile)}`);

if (process.argv.includes("--lint")) {
  redoclyRun(["lint", documentFile, "--config", path.join(root, "redocly.yaml")]);
}

if (process.argv.includes("--docs")) {
  const hash = createHash("sha256").update(text).digest("hex");
  const fresh = existsSync(docsPage) && existsSync(docsStamp) && readFileSync(docsStamp, "utf8") === hash;
  if (!fresh) {
    const input = `${documentFile}.${process.pid}.json`;
    const output = `${docsPage}.${process.pid}.tmp`;
    writeFileSync(input, text);
    try {
      // --inlineBundle puts Redoc in the page itself: /docs loads nothing from any other host.
      redoclyRun([
        "build-docs",
        input,
        "--inlineBundle",
        "--title",
        "edge-broker API",
        "--output",
        output,
        "--config",
        path.join(root, "redocly.yaml"),
      ]);
      renameSync(output, docsPage);
    } finally {
      rmSync(input, { force: true });
      rmSync(output, { force: true });
    }
    writeWhole(docsStamp, hash);
  }
}
