import { describe, expect, it } from "vitest";
import { TailState } from "../../src/client/tail-state";
import type { WireMessage } from "../../src/protocol/message";
import type { HelloFrame } from "../../src/protocol/ws-frames";

const message = (seq: number): WireMessage => ({
  seq,
  id: `m${seq}`,
  publishedAt: 0,
  contentType: "text/plain",
  attributes: {},
});
const hello = (epoch: string | null, after?: number): HelloFrame =>
  after === undefined
    ? { type: "hello", topic: "t", epoch, session: "s", version: "0.1.0" }
    : { type: "hello", topic: "t", epoch, session: "s", version: "0.1.0", after };

describe("TailState", () => {
  it("starts at the tail when no position is given", () => {
    expect(new TailState().query()).toEqual({});
  });

  it("resumes from where the broker said the tail started when nothing arrived before a drop", () => {
    const state = new TailState();
    expect(state.hello(hello("e1", 41))).toBeUndefined();
    expect(state.query()).toEqual({ after: 41, epoch: "e1" });
  });

  it("resumes after the last message seen, without a gap or a repeat", () => {
    const state = new TailState({ after: 10 });
    state.hello(hello("e1", 10));
    expect([11, 12, 13].map((seq) => state.accept(message(seq)))).toEqual([true, true, true]);
    expect(state.query()).toEqual({ after: 13, epoch: "e1" });
    // The next socket replays from 13; anything at or below it is dropped.
    state.hello(hello("e1", 13));
    expect([12, 13, 14].map((seq) => state.accept(message(seq)))).toEqual([false, false, true]);
    expect(state.position).toBe(14);
  });

  it("keeps its own position over the broker's once it has one", () => {
    const state = new TailState({ after: 5 });
    state.hello(hello("e1", 99));
    expect(state.position).toBe(5);
  });

  it("ends with a conflict when the topic was re-created between two sockets", () => {
    const state = new TailState();
    state.hello(hello("e1", 0));
    state.accept(message(1));
    const error = state.hello(hello("e2", 0));
    expect(error).toMatchObject({ code: "conflict", closeCode: 4002 });
    expect(error?.detail).toContain("re-created");
    expect(state.epoch).toBe("e1");
  });

  it("waits for a topic that does not exist yet without an epoch, then takes the one it is created with", () => {
    const state = new TailState();
    expect(state.hello(hello(null, 0))).toBeUndefined();
    expect(state.query()).toEqual({ after: 0 });
    // A drop before the topic exists resumes after seq 0, still without an epoch.
    expect(state.hello(hello(null, 0))).toBeUndefined();
    expect(state.hello(hello("e1", 0))).toBeUndefined();
    expect(state.accept(message(1))).toBe(true);
    expect(state.query()).toEqual({ after: 1, epoch: "e1" });
  });

  it("checks an epoch given by the caller on the first socket", () => {
    expect(new TailState({ after: 7, epoch: "old" }).hello(hello("new"))?.code).toBe("conflict");
    expect(new TailState({ after: 7, epoch: "same" }).hello(hello("same"))).toBeUndefined();
  });

  it("refuses a position that is not a seq", () => {
    expect(() => new TailState({ after: -1 })).toThrow("after must be a seq");
    expect(() => new TailState({ after: 1.5 })).toThrow("after must be a seq");
  });
});
