import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/protocol/duration";
import { backoffDelay } from "../../src/topic/backoff";

describe("backoffDelay", () => {
  const bounds = { min: 1_000, max: 60_000 };

  it("waits exactly min after the first attempt", () => {
    expect(backoffDelay(1, bounds, () => 0.999)).toBe(1_000);
  });

  it("doubles the window per attempt and picks uniformly inside it", () => {
    expect(backoffDelay(3, bounds, () => 0)).toBe(1_000);
    expect(backoffDelay(3, bounds, () => 0.999_999)).toBe(4_000);
    expect(backoffDelay(3, bounds, () => 0.5)).toBe(2_500);
  });

  it("never exceeds max, however many attempts", () => {
    for (const attempts of [7, 20, 100, 10_000]) {
      expect(backoffDelay(attempts, bounds, () => 0.999_999)).toBeLessThanOrEqual(60_000);
    }
  });
});

describe("parseDuration", () => {
  it.each([
    [250, 250],
    ["250", 250],
    ["250ms", 250],
    ["30s", 30_000],
    ["5m", 300_000],
    ["24h", 86_400_000],
    ["1.5s", 1_500],
    ["7d", 604_800_000],
  ])("reads %s as %d ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([["-1"], [-5], ["5 minutes"], [""], ["1e3"], [Number.NaN], [null], [{}], ["10w"]])(
    "refuses %s",
    (input) => {
      expect(parseDuration(input)).toBeUndefined();
    },
  );
});
