#!/usr/bin/env node
// The `edge-broker` command (package.json "bin"): `npx edge-broker --help` in this repository.
// It loads the broker's own rules from src/*.ts, which needs a Node.js that strips TypeScript
// types (22.18 or later: the one `npm ci` installs, which npx and npm scripts run).
if (!process.features.typescript) {
  process.stderr.write(
    `edge-broker needs Node.js 22.18 or later (this is ${process.version}): run it with npx or ` +
      "npm run in the repository, which use the Node.js that `npm ci` installs.\n",
  );
  process.exit(1);
}
const { main } = await import("../cli/main.mjs");
process.exitCode = await main(process.argv.slice(2));
