/**
 * The layers of src/ (STYLE.md, DESIGN.md §7), checked by `npm run lint`:
 *
 *   protocol  wire types and schemas; imports nothing of ours
 *   storage   SQLite helpers shared by the Durable Objects; imports nothing of ours
 *   client    the SDK; imports only protocol
 *   auth      imports protocol
 *   topic, registry   the Durable Objects; import protocol and storage
 *   inbox     a requester's inbox (request/reply), a Durable Object; imports protocol
 *   edge      relays and sessions; import protocol, storage and auth (a session checks rights)
 *   http      the worker; composes all of the above
 *   worker    the published types of the RPC entrypoint (`edge-broker/worker`); imports protocol
 *   index.ts  the entry point; nothing imports it
 *
 * Type-only imports count: a type is a dependency too.
 */
const layer = (name, from, allowed) => ({
  name,
  severity: "error",
  comment: `${from} may import only ${allowed.join(", ")}`,
  from: { path: `^src/${from}/` },
  to: { path: "^src/", pathNot: allowed.map((dir) => `^src/${dir}/`) },
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "a cycle makes two modules one: break it by moving what both need below both",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
    layer("protocol-imports-nothing", "protocol", ["protocol"]),
    layer("storage-imports-nothing", "storage", ["storage"]),
    layer("client-imports-protocol", "client", ["client", "protocol"]),
    layer("auth-imports-protocol", "auth", ["auth", "protocol"]),
    layer("topic-imports-protocol-and-storage", "topic", ["topic", "protocol", "storage"]),
    layer("registry-imports-protocol-and-storage", "registry", ["registry", "protocol", "storage"]),
    layer("inbox-imports-protocol", "inbox", ["inbox", "protocol"]),
    layer("worker-types-import-protocol", "worker", ["worker", "protocol"]),
    layer("edge-imports-protocol-storage-and-auth", "edge", ["edge", "protocol", "storage", "auth"]),
    {
      name: "nothing-imports-the-entry-point",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/index\\.ts$" },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    builtInModules: { add: ["cloudflare:workers"] },
    // `.js` specifiers in files the SDK shares name the `.ts` source (TypeScript's convention).
    enhancedResolveOptions: {
      extensions: [".ts", ".d.ts", ".js"],
      exportsFields: ["exports"],
      conditionNames: ["import", "types", "default"],
    },
  },
};
