#!/usr/bin/env node
/**
 * `npm run check:package`: the npm package as a user gets it. Packs it with `npm pack` (whose
 * prepack builds the SDK from nothing), checks what the tarball holds, installs it offline into
 * a scratch project, type-checks an import of `edge-broker/client` there under the module
 * resolutions TypeScript users have, and a Worker typing its binding to the RPC entrypoint with
 * `Service<import("edge-broker/worker").Broker>` (against the Workers runtime types, as a Worker
 * has them), and runs the README's "Client SDK" example from there, exactly as written, against
 * a real broker (`npm start`'s script, via the e2e harness).
 *
 * The README's example talks to `http://127.0.0.1:8787`, where `npm start` listens; the broker
 * here gets a free port, and that origin is the one thing replaced in the example's text.
 *
 * @example
 * npm run check:package
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { removeState, startBroker } from "../test/e2e/harness.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const README_ORIGIN = "http://127.0.0.1:8787";
/** What the tarball may hold besides package.json; anything else is a packing mistake. */
const ALLOWED = [
  /^README\.md$/,
  /^CHANGELOG\.md$/,
  /^LICENSE$/,
  /^dist\/(client|protocol)\/[\w.-]+\.(js|d\.ts|js\.map)$/,
  /^dist\/worker\/[\w.-]+\.d\.ts$/,
];
/** The Workers runtime types (`Service`, `Rpc`), which a user's Worker has from its own setup. */
const WORKERS_TYPES = path.join(ROOT, "node_modules", "@cloudflare", "workers-types", "index.d.ts");
/** Module and resolution pairs TypeScript users compile with. */
const RESOLUTIONS = [
  ["nodenext", "nodenext"],
  ["esnext", "bundler"],
  ["esnext", "node10"],
];

const TSC = path.join(ROOT, "node_modules", ".bin", "tsc");

const work = mkdtempSync(path.join(tmpdir(), "edge-broker-package-"));
const counts = { passed: 0, failed: 0 };
const check = async (name, fn) => {
  try {
    const detail = await fn();
    console.log(`✔ ${name}${detail ? `: ${detail}` : ""}`);
    counts.passed++;
  } catch (error) {
    console.log(`✘ ${name}: ${error.message}`);
    counts.failed++;
  }
};

try {
  // From nothing, so the tarball's dist/ is what prepack built.
  for (const dir of ["dist/client", "dist/protocol", "dist/worker"])
    rmSync(path.join(ROOT, dir), { recursive: true, force: true });
  run("npm", ["pack", "--pack-destination", work], { cwd: ROOT });
  const tarball = path.join(
    work,
    readdirSync(work).find((file) => file.endsWith(".tgz")),
  );

  await check("the tarball holds the SDK, the worker's types and nothing of the worker", () => {
    const files = run("tar", ["-tzf", tarball])
      .split("\n")
      .filter(Boolean)
      .map((file) => file.replace(/^package\//, ""));
    const stray = files.filter((file) => file !== "package.json" && !ALLOWED.some((re) => re.test(file)));
    if (stray.length) throw new Error(`unexpected files: ${stray.join(", ")}`);
    for (const needed of [
      "dist/client/index.js",
      "dist/client/index.d.ts",
      "dist/worker/index.d.ts",
      "CHANGELOG.md",
    ]) {
      if (!files.includes(needed)) throw new Error(`${needed} is missing`);
    }
    const pkg = JSON.parse(run("tar", ["-xzOf", tarball, "package/package.json"]));
    if (pkg.private) throw new Error("package.json is private");
    if (Object.keys(pkg.dependencies ?? {}).length) throw new Error("it has runtime dependencies");
    if (pkg.sideEffects !== false) throw new Error("sideEffects is not false");
    return `${files.length} files, no dependencies`;
  });

  const project = path.join(work, "project");
  await check("it installs offline into an empty project", () => {
    mkdirSync(project);
    writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({ name: "scratch", private: true, type: "module" }),
    );
    run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], {
      cwd: project,
    });
    const installed = readdirSync(path.join(project, "node_modules")).filter((name) => !name.startsWith("."));
    if (installed.join() !== "edge-broker") throw new Error(`installed ${installed.join(", ")}`);
    return "node_modules holds edge-broker alone";
  });

  await check("its types resolve under nodenext, bundler and node10 resolution", () => {
    writeFileSync(
      path.join(project, "check.ts"),
      [
        'import { Broker, BrokerError, type BrokerOptions, type WireMessage } from "edge-broker/client";',
        'const options: BrokerOptions = { url: "http://127.0.0.1:8787" };',
        "const broker = new Broker(options);",
        'export const seq: Promise<number> = broker.publish("orders", { id: 1 }).then((r) => r.seq);',
        "export const failed = (error: unknown) => error instanceof BrokerError && error.retryable;",
        "export const body = (message: WireMessage) => message.seq;",
        "",
      ].join("\n"),
    );
    const common = ["--noEmit", "--strict", "--target", "es2022", "--lib", "es2022,dom", "check.ts"];
    for (const [module, resolution] of RESOLUTIONS) {
      run(TSC, [...common, "--module", module, "--moduleResolution", resolution], { cwd: project });
    }
  });

  await check("a Worker's binding typed Service<Broker> from edge-broker/worker calls the entrypoint", () => {
    writeFileSync(
      path.join(project, "worker.ts"),
      [
        'import type { Broker, JsonValue } from "edge-broker/worker";',
        "",
        "interface Env {",
        "  BROKER: Service<Broker>;",
        "}",
        "",
        "export default {",
        "  async fetch(request: Request, env: Env) {",
        '    const { seq } = await env.BROKER.publish("orders", await request.json(), { key: "customer-7" });',
        '    const { messages, epoch } = await env.BROKER.pull("orders", "billing", { max: 10 });',
        "    const data: (JsonValue | undefined)[] = messages.map((m) => m.data);",
        '    const { acked } = await env.BROKER.ack("orders", "billing", messages.map((m) => m.seq), { epoch });',
        '    const { next } = await env.BROKER.read("orders", { after: seq - 1 });',
        "    // @ts-expect-error: the entrypoint has no such method",
        '    await env.BROKER.subscribe("orders");',
        "    return Response.json({ seq, data, acked, next });",
        "  },",
        "} satisfies ExportedHandler<Env>;",
        "",
      ].join("\n"),
    );
    // The runtime's types replace the DOM's: no `dom` lib, as in a Worker.
    const common = [
      "--noEmit",
      "--strict",
      "--target",
      "es2022",
      "--lib",
      "es2022",
      "worker.ts",
      WORKERS_TYPES,
    ];
    for (const [module, resolution] of RESOLUTIONS) {
      run(TSC, [...common, "--module", module, "--moduleResolution", resolution], { cwd: project });
    }
    return "publish, pull, ack and read typed under nodenext, bundler and node10";
  });

  await check("the README's SDK example runs from the installed package", async () => {
    const broker = await startBroker();
    try {
      writeFileSync(path.join(project, "example.mjs"), readmeExample().replaceAll(README_ORIGIN, broker.url));
      const result = spawnSync(process.execPath, ["example.mjs"], {
        cwd: project,
        encoding: "utf8",
        timeout: 60_000,
      });
      if (result.status !== 0) {
        throw new Error(`exit ${result.status ?? result.signal}: ${result.stderr}${result.stdout}`);
      }
      // It publishes {id: 42} to a fresh broker, consumes it (seq 1), acks it and stops.
      if (result.stdout.trim() !== "1 { id: 42 }")
        throw new Error(`printed ${JSON.stringify(result.stdout)}`);
      const { body } = await broker.json("/v1/topics/orders/subscriptions/billing");
      if (body.stats?.acked !== 1) throw new Error(`the subscription says ${JSON.stringify(body.stats)}`);
      return `printed ${result.stdout.trim()}, acked`;
    } finally {
      await broker.stop();
      await removeState(broker);
    }
  });
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`package: ${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed > 0 ? 1 : 0);

/** The first ```js block of README.md's "## Client SDK" section. */
function readmeExample() {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Client SDK"));
  const block = /```js\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf("\n## ", 1)));
  if (!block?.[1]) throw new Error('README.md has no ```js block under "## Client SDK"');
  return block[1];
}

/** Runs a command and returns its standard output; throws with its output when it fails. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.status}):\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}
