import { describe, expect, it } from "vitest";
import { callTopic } from "../../src/http/topic-call";

/** An error as the runtime throws it when an object was reset while a call ran. */
const failure = (flags: { retryable?: boolean; overloaded?: boolean }) =>
  Object.assign(new Error("Durable Object reset because its code was updated."), flags);

/** A namespace whose calls fail with `errors` in turn, then answer "ok"; it counts the stubs it hands out. */
function flaky(errors: Error[]) {
  const state = { stubs: 0, calls: 0 };
  const stub = {
    info: async () => {
      state.calls++;
      const error = errors.shift();
      if (error) throw error;
      return "ok";
    },
  };
  const TOPIC = {
    getByName: () => {
      state.stubs++;
      return stub;
    },
  } as unknown as Env["TOPIC"];
  return { env: { TOPIC }, state };
}

describe("calls from the worker to a topic's object", () => {
  it("are made once more, on a fresh stub, after a retryable failure", async () => {
    const { env, state } = flaky([failure({ retryable: true })]);
    await expect(callTopic(env, "t", (t) => t.info())).resolves.toBe("ok");
    expect(state).toEqual({ stubs: 2, calls: 2 });
  });

  it("are made at most twice", async () => {
    const { env, state } = flaky([failure({ retryable: true }), failure({ retryable: true })]);
    await expect(callTopic(env, "t", (t) => t.info())).rejects.toThrow(/reset/);
    expect(state.calls).toBe(2);
  });

  it("are not repeated when the object is overloaded, or the failure is not retryable", async () => {
    for (const flags of [{ retryable: true, overloaded: true }, { retryable: false }, {}]) {
      const { env, state } = flaky([failure(flags)]);
      await expect(callTopic(env, "t", (t) => t.info())).rejects.toThrow(/reset/);
      expect(state.calls).toBe(1);
    }
  });

  it("are not repeated when running them twice could store or lease twice", async () => {
    const { env, state } = flaky([failure({ retryable: true })]);
    await expect(callTopic(env, "t", (t) => t.info(), { idempotent: false })).rejects.toThrow(/reset/);
    expect(state.calls).toBe(1);
  });
});
