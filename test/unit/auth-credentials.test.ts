import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  echoSubprotocol,
  findToken,
  MAX_TOKEN_LENGTH,
  redactUrl,
  SUBPROTOCOL,
  withoutCredentials,
} from "../../src/auth/credentials";

const request = (path: string, headers: Record<string, string> = {}) =>
  new Request(`https://broker.example${path}`, { headers });

describe("findToken", () => {
  it("returns null when the request carries no credential", () => {
    expect(findToken(request("/v1/topics/t/messages"))).toBeNull();
  });

  it("reads Authorization: Bearer, whatever the case of the scheme", () => {
    expect(findToken(request("/", { Authorization: "Bearer abc.def.ghi" }))).toEqual({
      ok: true,
      token: "abc.def.ghi",
      source: "authorization",
    });
    expect(findToken(request("/", { Authorization: "bearer xyz" }))).toMatchObject({
      ok: true,
      token: "xyz",
    });
  });

  it.each([["Basic YTpi"], ["Bearer"], ["Bearer a b"], ["Token abc"]])(
    "refuses the Authorization header %j rather than trying another source",
    (header) => {
      const found = findToken(request("/?token=fallback", { Authorization: header }));
      expect(found).toMatchObject({ ok: false });
    },
  );

  it("reads a bearer. entry of Sec-WebSocket-Protocol", () => {
    const found = findToken(request("/", { "Sec-WebSocket-Protocol": "edge-broker.v1, bearer.abc.def.ghi" }));
    expect(found).toEqual({ ok: true, token: "abc.def.ghi", source: "subprotocol" });
  });

  it("refuses two bearer entries and an empty one", () => {
    expect(findToken(request("/", { "Sec-WebSocket-Protocol": "bearer.a, bearer.b" }))).toMatchObject({
      ok: false,
    });
    expect(findToken(request("/", { "Sec-WebSocket-Protocol": "edge-broker.v1, bearer." }))).toMatchObject({
      ok: false,
    });
  });

  it("reads ?token= last, and refuses it repeated or empty", () => {
    expect(findToken(request("/v1/x?after=3&token=abc"))).toEqual({
      ok: true,
      token: "abc",
      source: "query",
    });
    expect(findToken(request("/v1/x?token=a&token=b"))).toMatchObject({ ok: false });
    expect(findToken(request("/v1/x?token="))).toMatchObject({ ok: false });
  });

  it("prefers Authorization over the subprotocol over the query", () => {
    const all = request("/?token=q", { Authorization: "Bearer h", "Sec-WebSocket-Protocol": "bearer.s" });
    expect(findToken(all)).toMatchObject({ token: "h" });
    expect(findToken(request("/?token=q", { "Sec-WebSocket-Protocol": "bearer.s" }))).toMatchObject({
      token: "s",
    });
  });

  it(`refuses a credential longer than ${MAX_TOKEN_LENGTH} characters`, () => {
    const long = "a".repeat(MAX_TOKEN_LENGTH + 1);
    expect(findToken(request("/", { Authorization: `Bearer ${long}` }))).toMatchObject({ ok: false });
    expect(findToken(request(`/?token=${long}`))).toMatchObject({ ok: false });
    expect(findToken(request("/", { Authorization: `Bearer ${long.slice(1)}` }))).toMatchObject({ ok: true });
  });
});

describe("echoSubprotocol", () => {
  it("answers edge-broker.v1 when offered, and never the bearer entry", () => {
    const offered = request("/", { "Sec-WebSocket-Protocol": "bearer.secret-token, edge-broker.v1" });
    expect(echoSubprotocol(offered)).toBe(SUBPROTOCOL);
  });

  it("answers nothing when edge-broker.v1 was not offered", () => {
    expect(echoSubprotocol(request("/", { "Sec-WebSocket-Protocol": "bearer.secret-token" }))).toBeNull();
    expect(echoSubprotocol(request("/"))).toBeNull();
  });
});

describe("redactUrl", () => {
  it.each([
    ["https://b/v1/topics/t/ws?token=abc", "https://b/v1/topics/t/ws?token=[redacted]"],
    ["/v1/topics/t/ws?after=4&token=abc.def&x=1", "/v1/topics/t/ws?after=4&token=[redacted]&x=1"],
    ["/v1/x?TOKEN=abc#frag", "/v1/x?TOKEN=[redacted]#frag"],
    ["/v1/x?access_token=abc", "/v1/x?access_token=[redacted]"],
    ["/v1/x?mytoken=keep&token=a&token=b", "/v1/x?mytoken=keep&token=[redacted]&token=[redacted]"],
    ["/v1/topics/token=path-is-not-query", "/v1/topics/token=path-is-not-query"],
    ["not a url ?token=abc", "not a url ?token=[redacted]"],
  ])("redacts %s", (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it("never leaves a token value in the output, whatever else the URL holds", () => {
    const value = fc
      .string({ minLength: 8, maxLength: 40 })
      .filter((s) => !/[&#]/.test(s) && !s.includes("redacted"));
    fc.assert(
      fc.property(
        value,
        fc.webPath(),
        fc.array(fc.webQueryParameters(), { maxLength: 3 }),
        (token, path, others) => {
          const url = `https://b${path}?${[...others, `token=${token}`].join("&")}`;
          const out = redactUrl(url);
          expect(out.endsWith("token=[redacted]")).toBe(true);
          expect(out.slice(0, -"[redacted]".length)).toBe(url.slice(0, -token.length));
        },
      ),
    );
  });
});

describe("withoutCredentials", () => {
  it("drops Authorization, ?token= and the bearer entry, and keeps the rest", () => {
    const original = request("/v1/topics/t/ws?after=5&token=abc", {
      Authorization: "Bearer abc",
      "Sec-WebSocket-Protocol": "edge-broker.v1, bearer.abc",
      Upgrade: "websocket",
    });
    const forwarded = withoutCredentials(original);
    expect(forwarded.url).toBe("https://broker.example/v1/topics/t/ws?after=5");
    expect(forwarded.headers.get("Authorization")).toBeNull();
    expect(forwarded.headers.get("Sec-WebSocket-Protocol")).toBe("edge-broker.v1");
    expect(forwarded.headers.get("Upgrade")).toBe("websocket");
  });

  it("removes Sec-WebSocket-Protocol entirely when it held only the bearer entry", () => {
    const forwarded = withoutCredentials(request("/", { "Sec-WebSocket-Protocol": "bearer.abc" }));
    expect(forwarded.headers.has("Sec-WebSocket-Protocol")).toBe(false);
  });
});
