import { describe, expect, it } from "vitest";
import { BrokerError } from "../../src/client/errors";
import { Backoff, type Clock, Reconnector } from "../../src/client/reconnect";
import { CLOSE_CODES, closeReason } from "../../src/protocol/ws-frames";

/** Time that moves only when the test says so. */
class ManualClock implements Clock {
  time = 1_000_000;
  now = () => this.time;
  setTimeout = () => 0;
  clearTimeout = () => {};
}

/** A random source that replays the given values in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

const drop = { code: 1006, reason: "" };

describe("Backoff", () => {
  it("doubles its ceiling from min up to max", () => {
    const backoff = new Backoff({ min: 250, max: 30_000 });
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoff.ceiling(n))).toEqual([
      250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });

  it("waits a uniformly random time below the ceiling (full jitter)", () => {
    expect(new Backoff({}, () => 0).delay(3)).toBe(0);
    expect(new Backoff({}, () => 0.5).delay(3)).toBe(1_000);
    expect(new Backoff({}, () => 0.999_999).delay(3)).toBe(1_999);
  });

  it("stays finite and at most max after any number of attempts", () => {
    const backoff = new Backoff({ min: 250, max: 30_000 }, () => 0.999_999);
    for (const n of [60, 1_100, 1e9]) expect(backoff.delay(n)).toBeLessThan(30_000);
  });

  it("refuses options that make no sense, in a sentence", () => {
    expect(() => new Backoff({ min: 0 })).toThrow("reconnect.min must be > 0 ms");
    expect(() => new Backoff({ min: 500, max: 100 })).toThrow("reconnect.max must be >= reconnect.min");
  });
});

describe("Reconnector", () => {
  it("retries dropped sockets with growing, jittered delays", () => {
    const policy = new Reconnector({ min: 100, max: 1_000 }, new ManualClock(), () => 0.5);
    const delays = Array.from({ length: 6 }, () => {
      const decision = policy.lost(drop);
      if (!decision.retry) throw new Error("expected a retry");
      expect(decision.error.code).toBe("network");
      return decision.delay;
    });
    expect(delays).toEqual([50, 100, 200, 400, 500, 500]);
    expect(policy.attempt).toBe(6);
  });

  it("starts the backoff over only after a connection stayed open long enough", () => {
    const clock = new ManualClock();
    const policy = new Reconnector({ min: 100, max: 10_000, stableAfter: 5_000 }, clock, () => 0.5);
    policy.lost(drop);
    policy.lost(drop);
    // Open, then dropped at once: a server that accepts and drops is not retried any faster.
    policy.opened();
    clock.time += 10;
    expect(policy.lost(drop)).toMatchObject({ retry: true, delay: 200 });
    // Open for longer than stableAfter: the next loss counts as the first.
    policy.opened();
    clock.time += 5_000;
    expect(policy.lost(drop)).toMatchObject({ retry: true, delay: 50 });
  });

  it("waits at least as long as the broker asked to", () => {
    const policy = new Reconnector({ min: 100 }, new ManualClock(), () => 0);
    const busy = new BrokerError("rate_limited", "slow down", { retryAfter: 7_000 });
    expect(policy.lost(undefined, busy)).toMatchObject({ retry: true, delay: 7_000 });
  });

  it.each([
    ["the topic was deleted", CLOSE_CODES.TOPIC_DELETED, "not_found"],
    ["the subscription was deleted", CLOSE_CODES.SUBSCRIPTION_DELETED, "not_found"],
    ["the epoch changed", CLOSE_CODES.EPOCH_CHANGED, "conflict"],
    ["the topic does not exist", CLOSE_CODES.NOT_FOUND, "not_found"],
    ["a frame was refused", CLOSE_CODES.INVALID_FRAME, "invalid_request"],
  ])("stops when %s", (_, code, errorCode) => {
    const decision = new Reconnector({}, new ManualClock()).lost({ code, reason: "" });
    expect(decision.retry).toBe(false);
    expect(decision.error.code).toBe(errorCode);
    expect(decision.error.closeCode).toBe(code);
  });

  it.each([
    [CLOSE_CODES.GOING_AWAY],
    [CLOSE_CODES.INTERNAL],
    [CLOSE_CODES.TRY_AGAIN_LATER],
    [CLOSE_CODES.NORMAL],
    [1006],
    [4999],
  ])("retries after close %i", (code) => {
    expect(new Reconnector({}, new ManualClock()).lost({ code, reason: "" }).retry).toBe(true);
  });

  it("stops on a forbidden close even with a token provider", () => {
    const policy = new Reconnector({ canRefreshToken: true }, new ManualClock());
    const decision = policy.lost({
      code: CLOSE_CODES.POLICY,
      reason: closeReason("forbidden", "no subscribe right"),
    });
    expect(decision).toMatchObject({
      retry: false,
      error: { code: "forbidden", detail: "no subscribe right" },
    });
  });

  it("stops on an expired token when it cannot get a fresh one", () => {
    const policy = new Reconnector({ canRefreshToken: false }, new ManualClock());
    const decision = policy.lost({
      code: CLOSE_CODES.POLICY,
      reason: closeReason("unauthorized", "the token expired"),
    });
    expect(decision).toMatchObject({ retry: false, error: { code: "unauthorized" } });
  });

  it("retries an expired token once with a fresh one, and stops if that one is refused too", () => {
    const policy = new Reconnector({ canRefreshToken: true }, new ManualClock());
    const expired = { code: CLOSE_CODES.POLICY, reason: closeReason("unauthorized", "the token expired") };
    expect(policy.lost(expired).retry).toBe(true);
    expect(policy.lost(expired).retry).toBe(false);
  });

  it("retries an expired token again after the fresh one worked", () => {
    const policy = new Reconnector({ canRefreshToken: true }, new ManualClock());
    const expired = { code: CLOSE_CODES.POLICY, reason: closeReason("unauthorized", "the token expired") };
    expect(policy.lost(expired).retry).toBe(true);
    policy.opened();
    expect(policy.lost(expired).retry).toBe(true);
  });

  it("stops when creating the subscription is refused before any socket", () => {
    const policy = new Reconnector({}, new ManualClock());
    const refused = new BrokerError("invalid_request", "ackTimeout must be a duration between 1s and 12h", {
      status: 400,
    });
    expect(policy.lost(undefined, refused)).toMatchObject({ retry: false, error: refused });
  });

  it("retries a socket that could not be opened, as a network failure", () => {
    const decision = new Reconnector({}, new ManualClock()).lost(undefined, new TypeError("fetch failed"));
    expect(decision).toMatchObject({ retry: true, error: { code: "network", detail: "fetch failed" } });
  });

  it("gives up after maxAttempts failures in a row", () => {
    const policy = new Reconnector({ maxAttempts: 2 }, new ManualClock(), sequence(0.1, 0.9));
    expect(policy.lost(drop).retry).toBe(true);
    expect(policy.lost(drop).retry).toBe(true);
    expect(policy.lost(drop)).toMatchObject({ retry: false, error: { code: "network" } });
  });

  it("refuses maxAttempts below 1", () => {
    expect(() => new Reconnector({ maxAttempts: 0 })).toThrow("reconnect.maxAttempts must be >= 1");
  });
});
