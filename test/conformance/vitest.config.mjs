// Read by the suite's own Vitest (the version it depends on), not by the project's: a plain
// object, so that nothing here resolves the project's Vitest instead.
export default {
  test: {
    include: ["durable-streams.suite.mjs"],
    // The suite's own tests set the timeouts they need; 5 s is its default.
    testTimeout: 5_000,
  },
};
