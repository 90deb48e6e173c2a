#!/usr/bin/env node
// The `edge-broker` command. It is the "bin" of cli/package.json, a workspace of the repository,
// so `npm ci` links it into node_modules/.bin and `npx edge-broker` runs it in place. (A "bin" in
// the root package.json would make npx install the repository into its cache first, which
// strict-allow-scripts in .npmrc refuses because of the root's prepare script.)
// It loads the broker's own rules from src/*.ts, which needs a Node.js that strips TypeScript
// types (22.18 or later: the one `npm ci` installs, which npx and npm scripts run).
if (!process.features.typescript) {
  process.stderr.write(
    `edge-broker needs Node.js 22.18 or later (this is ${process.version}): run it with npx or ` +
      "npm run in the repository, which use the Node.js that `npm ci` installs.\n",
  );
  process.exit(1);
}
const { main } = await import("./main.mjs");
const code = await main(process.argv.slice(2));
// Exit now rather than when the event loop drains: after the broker refuses a WebSocket, Node
// keeps its TCP connection open for about 10 s waiting for the server to close it. Everything
// worth waiting for (output, acks) is done when main resolves.
process.exit(code);
