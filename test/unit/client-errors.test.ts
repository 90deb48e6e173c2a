import { describe, expect, it } from "vitest";
import { BrokerError, errorFromClose, errorFromResponse } from "../../src/client/errors";
import { problem } from "../../src/protocol/errors";
import { CLOSE_CODES, closeReason } from "../../src/protocol/ws-frames";

const problemResponse = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });

describe("errorFromResponse", () => {
  it("takes the code and detail of a problem document, and the HTTP status", async () => {
    const error = await errorFromResponse(
      problemResponse(problem("topic_full", "topic orders is full"), 507),
    );
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: "topic_full", status: 507, detail: "topic orders is full" });
    expect(error.message).toBe("topic_full: topic orders is full");
  });

  it("keeps the problem's code even when a proxy changed the status", async () => {
    const error = await errorFromResponse(problemResponse(problem("not_found", "no such subscription"), 400));
    expect(error).toMatchObject({ code: "not_found", status: 400 });
  });

  it("reads Retry-After in seconds as ms", async () => {
    const error = await errorFromResponse(
      problemResponse(problem("rate_limited", "slow down"), 429, { "retry-after": "3" }),
    );
    expect(error).toMatchObject({ code: "rate_limited", retryAfter: 3_000 });
    expect(error.retryable).toBe(true);
  });

  it("reads Retry-After as an HTTP date relative to now", async () => {
    const now = Date.parse("2030-01-01T00:00:00Z");
    const response = problemResponse(problem("rate_limited", "later"), 429, {
      "retry-after": "Tue, 01 Jan 2030 00:00:10 GMT",
    });
    expect((await errorFromResponse(response, now)).retryAfter).toBe(10_000);
  });

  it("maps a status without a problem document (a proxy's HTML page) to a broker code", async () => {
    const response = new Response("<html>Bad gateway</html>", {
      status: 502,
      headers: { "content-type": "text/html" },
    });
    const error = await errorFromResponse(response);
    expect(error).toMatchObject({ code: "internal", status: 502 });
    expect(error.detail).toContain("Bad gateway");
    expect(error.retryable).toBe(true);
  });

  it.each([
    [400, "invalid_request"],
    [401, "unauthorized"],
    [403, "forbidden"],
    [404, "not_found"],
    [405, "invalid_request"],
    [409, "conflict"],
    [413, "payload_too_large"],
    [429, "rate_limited"],
    [507, "topic_full"],
    [503, "internal"],
    [504, "internal"],
    [410, "invalid_request"],
    [422, "invalid_request"],
  ])("maps a bare %i to %s", async (status, code) => {
    expect((await errorFromResponse(new Response("", { status }))).code).toBe(code);
  });

  it("does not trust a JSON body whose code is not one of the broker's", async () => {
    const error = await errorFromResponse(
      problemResponse({ code: "teapot", detail: "short and stout" }, 403),
    );
    expect(error.code).toBe("forbidden");
  });

  it("survives a body that claims JSON but is not", async () => {
    const response = new Response("{oops", { status: 500, headers: { "content-type": "application/json" } });
    expect((await errorFromResponse(response)).code).toBe("internal");
  });

  it("says a refused request is not worth retrying as is", async () => {
    const error = await errorFromResponse(problemResponse(problem("forbidden", "no publish right"), 403));
    expect(error.retryable).toBe(false);
  });
});

describe("errorFromClose", () => {
  it("takes the code of a broker close reason", () => {
    const error = errorFromClose(CLOSE_CODES.POLICY, closeReason("unauthorized", "the token expired"));
    expect(error).toMatchObject({
      code: "unauthorized",
      detail: "the token expired",
      closeCode: 1008,
      status: undefined,
    });
  });

  it.each([
    [CLOSE_CODES.TOPIC_DELETED, "not_found"],
    [CLOSE_CODES.SUBSCRIPTION_DELETED, "not_found"],
    [CLOSE_CODES.NOT_FOUND, "not_found"],
    [CLOSE_CODES.EPOCH_CHANGED, "conflict"],
    [CLOSE_CODES.INVALID_FRAME, "invalid_request"],
    [CLOSE_CODES.POLICY, "forbidden"],
    [CLOSE_CODES.INTERNAL, "internal"],
    [CLOSE_CODES.TRY_AGAIN_LATER, "rate_limited"],
    [1006, "network"],
    [1001, "network"],
  ])("maps close %i without a reason to %s", (closeCode, code) => {
    const error = errorFromClose(closeCode, "");
    expect(error.code).toBe(code);
    expect(error.detail).toContain(String(closeCode));
  });
});
