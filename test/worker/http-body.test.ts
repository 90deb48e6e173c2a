import { describe, expect, it } from "vitest";
import { readBodyLimited, readJsonBody } from "../../src/http/body";
import { ProblemError } from "../../src/http/errors";
import { chunkedBody } from "./http-support";

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request("http://broker/", { method: "POST", body, headers });

/** The code of the ProblemError that `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProblemError);
  return (error as ProblemError).code;
}

describe("readBodyLimited", () => {
  it("joins a chunked body into one byte array, byte for byte", async () => {
    const { body } = chunkedBody(5, 3);
    const bytes = await readBodyLimited(post(body), 15);
    expect([...bytes]).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]);
  });

  it("reads a missing body as empty", async () => {
    expect(await readBodyLimited(new Request("http://broker/"), 10)).toEqual(new Uint8Array(0));
  });

  it("refuses a declared Content-Length over the limit before reading the body", async () => {
    const { body, pulled } = chunkedBody(4, 10);
    const before = pulled();
    expect(await refusal(readBodyLimited(post(body, { "content-length": "40" }), 39))).toBe(
      "payload_too_large",
    );
    expect(pulled()).toBe(before);
  });

  it("stops reading a body without Content-Length at the chunk that crosses the limit", async () => {
    const { body, pulled } = chunkedBody(100, 10);
    expect(await refusal(readBodyLimited(post(body), 35))).toBe("payload_too_large");
    expect(pulled()).toBe(4);
  });
});

describe("readJsonBody", () => {
  it("parses JSON and reads an empty body as an empty object", async () => {
    expect(await readJsonBody(post('{"a":[1]}'), 100)).toEqual({ a: [1] });
    expect(await readJsonBody(post(""), 100)).toEqual({});
    expect(await readJsonBody(post(null), 100)).toEqual({});
  });

  it("refuses malformed JSON, bytes that are not UTF-8, and a body over the limit", async () => {
    expect(await refusal(readJsonBody(post("{"), 100))).toBe("invalid_request");
    expect(await refusal(readJsonBody(post(new Uint8Array([0x22, 0xff, 0x22])), 100))).toBe(
      "invalid_request",
    );
    expect(await refusal(readJsonBody(post(`"${"x".repeat(100)}"`), 100))).toBe("payload_too_large");
  });
});
