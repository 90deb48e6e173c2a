import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/protocol/limits";
import {
  CLOSE_CODES,
  closeReason,
  PING_FRAME,
  PONG_FRAME,
  parseClientFrame,
  parseCloseReason,
  parseServerFrame,
} from "../../src/protocol/ws-schemas";

const parse = (frame: unknown) => parseClientFrame(typeof frame === "string" ? frame : JSON.stringify(frame));

describe("parseClientFrame accepts", () => {
  it("an ack with seqs and an id", () => {
    expect(parse({ type: "ack", seqs: [3, 1, 2], id: "a1" })).toEqual({
      ok: true,
      value: { type: "ack", seqs: [3, 1, 2], id: "a1" },
    });
  });

  it("a nack whose delay is a duration string, turned into ms", () => {
    expect(parse({ type: "nack", seqs: [5], delay: "30s" })).toEqual({
      ok: true,
      value: { type: "nack", seqs: [5], delay: 30_000 },
    });
  });

  it("an extend with an ackTimeout in ms", () => {
    expect(parse({ type: "extend", seqs: [9], ackTimeout: 60_000 })).toEqual({
      ok: true,
      value: { type: "extend", seqs: [9], ackTimeout: 60_000 },
    });
  });

  it("a flow of 0, which pauses delivery", () => {
    expect(parse({ type: "flow", maxInFlight: 0 })).toEqual({
      ok: true,
      value: { type: "flow", maxInFlight: 0 },
    });
  });

  it("the exact ping of the hibernation auto-response", () => {
    expect(parseClientFrame(PING_FRAME)).toEqual({ ok: true, value: { type: "ping" } });
    expect(JSON.parse(PONG_FRAME)).toEqual({ type: "pong" });
  });

  it("a publish of a JSON value, stored as JSON text by default", () => {
    const parsed = parse({
      type: "publish",
      id: "p",
      data: { n: 1 },
      attributes: { Region: "eu" },
      key: "k",
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.value.type !== "publish") throw new Error("expected a publish");
    expect(parsed.value.id).toBe("p");
    const { message } = parsed.value;
    expect(new TextDecoder().decode(message.body)).toBe('{"n":1}');
    expect(message).toMatchObject({
      contentType: "application/json",
      attributes: { Region: "eu" },
      key: "k",
    });
  });

  it("a publish of text with a text content type and a delay", () => {
    const parsed = parse({
      type: "publish",
      data: "héllo",
      contentType: "text/plain;charset=utf-8",
      delay: "5m",
    });
    if (!parsed.ok || parsed.value.type !== "publish") throw new Error("expected a publish");
    expect(new TextDecoder().decode(parsed.value.message.body)).toBe("héllo");
    expect(parsed.value.message.delay).toBe(300_000);
  });

  it("a publish of base64 bytes, as application/octet-stream by default", () => {
    const parsed = parse({ type: "publish", dataBase64: "AAEC/w==", idempotencyKey: "once" });
    if (!parsed.ok || parsed.value.type !== "publish") throw new Error("expected a publish");
    expect([...parsed.value.message.body]).toEqual([0, 1, 2, 255]);
    expect(parsed.value.message).toMatchObject({
      contentType: "application/octet-stream",
      idempotencyKey: "once",
    });
  });
});

describe("parseClientFrame refuses with invalid_request", () => {
  it.each([
    ["malformed JSON", "{not json", /not valid JSON/],
    ["a JSON array", "[1,2]", /JSON object/],
    ["a frame without a type", '{"seqs":[1]}', /string `type`/],
    ["a type that is not a string", '{"type":7}', /string `type`/],
  ])("%s", (_, text, detail) => {
    const parsed = parseClientFrame(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.code).toBe("invalid_request");
    expect(parsed.detail).toMatch(detail);
  });

  it("an unknown type, naming the known ones and echoing the id", () => {
    const parsed = parse({ type: "subscribe", id: "x1" });
    expect(parsed).toMatchObject({ ok: false, code: "invalid_request", id: "x1" });
    if (!parsed.ok)
      expect(parsed.detail).toBe(
        'unknown frame type "subscribe"; expected one of ack, nack, extend, flow, publish, ping, request, reply',
      );
  });

  it.each([
    ["an ack without seqs", { type: "ack" }, /^ack frame: seqs /],
    ["an ack with no seqs", { type: "ack", seqs: [] }, /^ack frame: seqs must be a non-empty array/],
    ["an ack with a fractional seq", { type: "ack", seqs: [1.5] }, /seqs must be/],
    ["an ack with a negative seq", { type: "ack", seqs: [-1] }, /seqs must be/],
    [
      "an ack with more than 1000 seqs",
      { type: "ack", seqs: Array.from({ length: 1001 }, (_, i) => i + 1) },
      /seqs/,
    ],
    ["an ack with an unknown field", { type: "ack", seqs: [1], seq: 1 }, /unknown field|set by the broker/],
    [
      "a nack with a delay that is not a duration",
      { type: "nack", seqs: [1], delay: "soon" },
      /^nack frame: delay must be a duration/,
    ],
    [
      "an extend with an ackTimeout below 1s",
      { type: "extend", seqs: [1], ackTimeout: 10 },
      /ackTimeout must be a duration/,
    ],
    [
      "a flow above the limit",
      { type: "flow", maxInFlight: 1001 },
      /^flow frame: maxInFlight must be an integer between 0 and 1000$/,
    ],
    ["a flow that is not a number", { type: "flow", maxInFlight: "10" }, /maxInFlight must be an integer/],
    ["a ping with extra fields", { type: "ping", payload: 1 }, /unknown field "payload"/],
    ["an id that is not a string", { type: "ping", id: 7 }, /^ping frame: id must be a string/],
    [
      "a publish with both data and dataBase64",
      { type: "publish", data: 1, dataBase64: "AA==" },
      /exactly one of data and dataBase64/,
    ],
    ["a publish with neither data nor dataBase64", { type: "publish" }, /exactly one of data and dataBase64/],
    [
      "a publish with broken base64",
      { type: "publish", dataBase64: "%%%" },
      /dataBase64 must be standard base64/,
    ],
    [
      "a publish of an object as text/plain",
      { type: "publish", data: { a: 1 }, contentType: "text/plain" },
      /data cannot carry text\/plain/,
    ],
    [
      "a publish with a non-string attribute",
      { type: "publish", data: 1, attributes: { n: 1 } },
      /attributes/,
    ],
    [
      "a publish delayed beyond 7 days",
      { type: "publish", data: 1, delay: "8d" },
      /delay must be a duration/,
    ],
  ])("%s", (_, frame, detail) => {
    const parsed = parse(frame);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.code).toBe("invalid_request");
    expect(parsed.detail).toMatch(detail);
  });

  it("a bad field of a frame with an id, echoing the id", () => {
    expect(parse({ type: "ack", seqs: [], id: "r7" })).toMatchObject({ ok: false, id: "r7" });
  });
});

describe("parseClientFrame refuses with payload_too_large", () => {
  it("a frame longer than the frame limit, before parsing it", () => {
    const text = `{"type":"ping","x":"${"a".repeat(LIMITS.frameBytes)}"}`;
    expect(parseClientFrame(text)).toMatchObject({ ok: false, code: "payload_too_large" });
  });
});

describe("parseServerFrame", () => {
  it("reads a live-tail hello with its start position", () => {
    const hello = { type: "hello", topic: "t", epoch: "e", session: "s", version: "0.1.0", after: 41 };
    expect(parseServerFrame(JSON.stringify(hello))).toEqual({ ok: true, value: hello });
  });

  it("refuses a hello without the broker's version", () => {
    const hello = { type: "hello", topic: "t", epoch: "e", session: "s" };
    expect(parseServerFrame(JSON.stringify(hello)).ok).toBe(false);
  });

  it("reads a batch of messages on the wire", () => {
    const message = {
      seq: 1,
      id: "m",
      publishedAt: 5,
      contentType: "text/plain",
      attributes: {},
      data: "x",
      attempt: 1,
    };
    const parsed = parseServerFrame(JSON.stringify({ type: "messages", messages: [message] }));
    expect(parsed).toEqual({ ok: true, value: { type: "messages", messages: [message] } });
  });

  it("refuses an error frame whose code is not one of the broker's", () => {
    const parsed = parseServerFrame(JSON.stringify({ type: "error", code: "oops", message: "m" }));
    expect(parsed.ok).toBe(false);
  });
});

describe("close reasons", () => {
  it("carry the error code and survive a round trip", () => {
    const reason = closeReason("unauthorized", "the token expired");
    expect(reason).toBe("unauthorized: the token expired");
    expect(parseCloseReason(reason)).toEqual({ code: "unauthorized", detail: "the token expired" });
  });

  it("are cut to the 123 bytes a close frame allows, counting UTF-8 bytes", () => {
    const reason = closeReason("forbidden", "é".repeat(200));
    expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(123);
    expect(reason.startsWith("forbidden: é")).toBe(true);
  });

  it("without a known code leave the code out", () => {
    expect(parseCloseReason("Going away")).toEqual({ detail: "Going away" });
  });

  it("use broker codes in the 4000 range that the platform does not reserve", () => {
    const broker = Object.values(CLOSE_CODES).filter((code) => code >= 4000);
    expect(broker.every((code) => code <= 4999)).toBe(true);
    expect(new Set(Object.values(CLOSE_CODES)).size).toBe(Object.values(CLOSE_CODES).length);
  });
});
