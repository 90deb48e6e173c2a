import { describe, expect, it } from "vitest";
import { ConsumerState } from "../../src/client/consumer-state";

describe("ConsumerState credit", () => {
  it("asks for maxInFlight on the first socket", () => {
    const state = new ConsumerState(10);
    expect(state.nextCredit).toBe(10);
    expect(state.connected()).toEqual([{ type: "flow", maxInFlight: 10 }]);
  });

  it("does not resend credit that did not change", () => {
    const state = new ConsumerState(10);
    state.connected();
    state.delivered(1);
    state.settle(1, { kind: "ack" });
    expect(state.outgoing().filter((frame) => frame.type === "flow")).toEqual([]);
  });

  it("after a reconnect asks only for what the messages still held from earlier sockets leave", () => {
    const state = new ConsumerState(5);
    state.connected();
    for (const seq of [1, 2, 3]) state.delivered(seq);
    expect(state.nextCredit).toBe(2);
    expect(state.connected()).toEqual([{ type: "flow", maxInFlight: 2 }]);
    // Messages of the current socket are counted by the broker itself, not taken off the credit.
    state.delivered(4);
    expect(state.credit).toBe(2);
  });

  it("raises the credit as messages from earlier sockets are settled", () => {
    const state = new ConsumerState(5);
    state.connected();
    for (const seq of [1, 2, 3]) state.delivered(seq);
    state.connected();
    state.settle(1, { kind: "ack" });
    state.settle(2, { kind: "nack" });
    expect(state.outgoing()).toContainEqual({ type: "flow", maxInFlight: 4 });
  });

  it("never asks for a negative credit", () => {
    const state = new ConsumerState(2);
    state.connected();
    for (const seq of [1, 2, 3]) state.delivered(seq);
    expect(state.connected()).toEqual([{ type: "flow", maxInFlight: 0 }]);
  });

  it("refuses a maxInFlight below 1", () => {
    expect(() => new ConsumerState(0)).toThrow("maxInFlight must be an integer >= 1");
  });
});

describe("ConsumerState limit", () => {
  it("asks for no more than the limit, and for nothing once it is reached", () => {
    const state = new ConsumerState(100, 3);
    expect(state.connected()).toEqual([{ type: "flow", maxInFlight: 3 }]);
    for (const seq of [1, 2, 3]) state.delivered(seq);
    expect(state.exhausted).toBe(true);
    // The broker holds 3 in flight on this socket: credit 3 lets it send nothing more.
    expect(state.credit).toBe(3);
    state.settle(1, { kind: "ack" });
    // Lowered to what the socket still holds, and sent before the ack that frees the slot.
    expect(state.outgoing()).toEqual([
      { type: "flow", maxInFlight: 2 },
      { type: "ack", seqs: [1], id: "1" },
    ]);
    expect(state.nextCredit).toBe(0);
  });

  it("wants again the messages the broker took back before the application got them", () => {
    const state = new ConsumerState(10, 2);
    state.connected();
    state.delivered(1);
    state.delivered(2);
    state.forget([2]);
    expect(state.exhausted).toBe(false);
    expect(state.connected()).toEqual([{ type: "flow", maxInFlight: 1 }]);
  });

  it("does not count a redelivery of a held message", () => {
    const state = new ConsumerState(10, 2);
    state.connected();
    state.delivered(1);
    state.delivered(1);
    expect(state.exhausted).toBe(false);
  });

  it("refuses a limit below 1", () => {
    expect(() => new ConsumerState(10, 0)).toThrow("limit must be an integer >= 1");
  });
});

describe("ConsumerState deliveries", () => {
  it("does not hand out again a message the application still holds", () => {
    const state = new ConsumerState(10);
    state.connected();
    expect(state.delivered(7)).toBe(true);
    expect(state.delivered(7)).toBe(false);
    state.settle(7, { kind: "ack" });
    expect(state.delivered(7)).toBe(true);
  });

  it("forgets messages that never reached the application", () => {
    const state = new ConsumerState(3);
    state.connected();
    state.delivered(1);
    state.delivered(2);
    state.forget([1, 2]);
    expect(state.held).toBe(0);
    expect(state.connected()).toEqual([{ type: "flow", maxInFlight: 3 }]);
  });

  it("counts a redelivery of a held message against the socket it came on", () => {
    const state = new ConsumerState(4);
    state.connected();
    state.delivered(1);
    state.connected();
    expect(state.credit).toBe(3);
    // The broker released it when the first socket closed and leased it again on this one.
    state.delivered(1);
    expect(state.credit).toBe(4);
  });
});

describe("ConsumerState settlements", () => {
  it("batches acks made together into one frame with an id", () => {
    const state = new ConsumerState(10);
    state.connected();
    for (const seq of [3, 1, 2]) {
      state.delivered(seq);
      state.settle(seq, { kind: "ack" });
    }
    expect(state.outgoing()).toEqual([{ type: "ack", seqs: [1, 2, 3], id: "1" }]);
    expect(state.outgoing()).toEqual([]);
  });

  it("groups nacks by delay and sends extends before acks", () => {
    const state = new ConsumerState(10);
    state.connected();
    state.settle(1, { kind: "ack" });
    state.settle(2, { kind: "nack", delay: "30s" });
    state.settle(3, { kind: "nack" });
    state.settle(4, { kind: "nack", delay: "30s" });
    state.settle(5, { kind: "extend", ackTimeout: 60_000 });
    expect(state.outgoing()).toEqual([
      { type: "extend", seqs: [5], ackTimeout: 60_000, id: "1" },
      { type: "nack", seqs: [2, 4], delay: "30s", id: "2" },
      { type: "nack", seqs: [3], id: "3" },
      { type: "ack", seqs: [1], id: "4" },
    ]);
  });

  it("splits more than 1000 acks into frames of at most 1000 seqs", () => {
    const state = new ConsumerState(1_000);
    state.connected();
    for (let seq = 1; seq <= 2_500; seq++) state.settle(seq, { kind: "ack" });
    const frames = state.outgoing();
    expect(frames.map((frame) => (frame.type === "ack" ? frame.seqs.length : 0))).toEqual([
      1_000, 1_000, 500,
    ]);
  });

  it("resends on the next socket what the broker did not confirm, with the same ids", () => {
    const state = new ConsumerState(10);
    state.connected();
    state.settle(1, { kind: "ack" });
    state.settle(2, { kind: "ack" });
    const [sent] = state.outgoing();
    state.settle(3, { kind: "nack" }); // made while the socket is down: not sent yet
    expect(state.settledWithBroker).toBe(false);
    expect(state.connected()).toEqual([
      { type: "flow", maxInFlight: 10 },
      sent,
      { type: "nack", seqs: [3], id: "2" },
    ]);
  });

  it("stops resending what the broker confirmed or refused", () => {
    const state = new ConsumerState(10);
    state.connected();
    state.settle(1, { kind: "ack" });
    state.settle(2, { kind: "nack", delay: 5 });
    const [nack, ack] = state.outgoing();
    state.confirmed(ack?.id as string);
    expect(state.refused(nack?.id as string)).toEqual(nack);
    expect(state.refused("unknown")).toBeUndefined();
    expect(state.settledWithBroker).toBe(true);
    expect(state.connected()).toEqual([{ type: "flow", maxInFlight: 10 }]);
  });
});

describe("ConsumerState epochs", () => {
  it("names the epoch each message was delivered in, one frame per epoch", () => {
    const state = new ConsumerState(10);
    state.connected();
    state.delivered(1, "aaaa");
    state.delivered(2, "aaaa");
    // The topic was deleted and re-created: a new socket delivers seqs of the new epoch.
    state.connected();
    state.delivered(1, "bbbb");
    state.delivered(3, "bbbb");
    state.settle(2, { kind: "ack" });
    state.settle(1, { kind: "ack" });
    state.settle(3, { kind: "nack", delay: "5s" });
    const frames = state.outgoing().filter((frame) => frame.type !== "flow");
    expect(frames).toEqual([
      { type: "nack", seqs: [3], delay: "5s", epoch: "bbbb", id: "1" },
      { type: "ack", seqs: [2], epoch: "aaaa", id: "2" },
      { type: "ack", seqs: [1], epoch: "bbbb", id: "3" },
    ]);
  });
});
