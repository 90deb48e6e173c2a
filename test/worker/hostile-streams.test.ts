/**
 * Hostile Durable Streams requests: producer headers, TTLs and offsets that are not what the
 * protocol allows. Each is refused with `invalid_request` (400) and writes nothing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { freshTopic } from "./helpers";
import { call, expectProblem, readAll, topicExists } from "./http-support";

/**
 * Text that is never a non-negative decimal integer without sign or leading zeros, even once the
 * runtime trims the whitespace around a header's value.
 */
const notADecimal = fc.oneof(
  fc.constantFrom("-1", "+1", "01", "00", "1.0", "1e3", "0x1", "", "9007199254740993", "1 2"),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^(0|[1-9]\d*)$/.test(s.trim())),
);

describe("hostile Durable Streams requests", () => {
  it("refuses producer epochs and seqs that are not plain decimals, storing nothing", async () => {
    const name = freshTopic();
    expect(
      (await call("PUT", `/ds/v1/stream/${name}`, { headers: { "content-type": "text/plain" } })).status,
    ).toBe(201);
    await fc.assert(
      fc.asyncProperty(notADecimal, fc.boolean(), async (bad, inEpoch) => {
        const res = await call("POST", `/ds/v1/stream/${name}`, {
          body: "x",
          headers: {
            "content-type": "text/plain",
            "Producer-Id": "p",
            "Producer-Epoch": inEpoch ? bad : "0",
            "Producer-Seq": inEpoch ? "0" : bad,
          },
        });
        await expectProblem(res, 400, "invalid_request");
      }),
      { numRuns: 60 },
    );
    expect(await readAll(name)).toEqual([]);
  });

  it("refuses a TTL that is not a plain decimal, and creates nothing", async () => {
    await fc.assert(
      fc.asyncProperty(notADecimal, async (bad) => {
        const name = freshTopic();
        const res = await call("PUT", `/ds/v1/stream/${name}`, {
          headers: { "content-type": "text/plain", "Stream-TTL": bad },
        });
        await expectProblem(res, 400, "invalid_request");
        expect(await topicExists(name)).toBe(false);
      }),
      { numRuns: 40 },
    );
    // A decimal, but past any date a stream could expire at.
    const name = freshTopic();
    const far = await call("PUT", `/ds/v1/stream/${name}`, {
      headers: { "content-type": "text/plain", "Stream-TTL": "99999999999999" },
    });
    await expectProblem(far, 400, "invalid_request");
    expect(await topicExists(name)).toBe(false);
  });

  it("refuses any offset it did not hand out", async () => {
    const name = freshTopic();
    await call("PUT", `/ds/v1/stream/${name}`, { body: "x", headers: { "content-type": "text/plain" } });
    const notAnOffset = fc
      .string({ maxLength: 40 })
      .filter((s) => s !== "-1" && s !== "now" && !/^0{16}_\d{16}$/.test(s));
    await fc.assert(
      fc.asyncProperty(notAnOffset, async (bad) => {
        const res = await call("GET", `/ds/v1/stream/${name}?offset=${encodeURIComponent(bad)}`);
        await expectProblem(res, 400, "invalid_request");
      }),
      { numRuns: 60 },
    );
  });
});
