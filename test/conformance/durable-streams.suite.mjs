// The Durable Streams server conformance suite, unmodified, against the broker that
// scripts/check-durable-streams.mjs started (CONFORMANCE_TEST_URL is its `/ds` mount point).
import { runConformanceTests } from "@durable-streams/server-conformance-tests";

runConformanceTests({ baseUrl: process.env.CONFORMANCE_TEST_URL });
