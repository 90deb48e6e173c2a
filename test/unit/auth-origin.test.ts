import { describe, expect, it } from "vitest";
import { isOriginAllowed, parseAllowedOrigins } from "../../src/auth/origin";
import { isWebSocketUpgrade } from "../../src/protocol/ws-handshake";

describe("parseAllowedOrigins", () => {
  it("is null (no check) when unset or blank", () => {
    expect(parseAllowedOrigins(undefined)).toEqual({ ok: true, origins: null });
    expect(parseAllowedOrigins(" , ")).toEqual({ ok: true, origins: null });
  });

  it("normalises entries: trims, lowercases the host, drops a default port and a trailing slash", () => {
    expect(
      parseAllowedOrigins(" https://App.Example.com/ ,http://localhost:5173,https://x.example:443"),
    ).toEqual({
      ok: true,
      origins: ["https://app.example.com", "http://localhost:5173", "https://x.example"],
    });
  });

  it.each([
    "app.example.com",
    "https://app.example.com/path",
    "https://a.example?x=1",
    "ftp://a.example",
    "*",
  ])("refuses the entry %j, naming it", (entry) => {
    const parsed = parseAllowedOrigins(`https://ok.example,${entry}`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.detail).toContain(JSON.stringify(entry));
  });
});

describe("isOriginAllowed", () => {
  const allowed = ["https://app.example.com", "http://localhost:5173"];

  it("allows every origin when there is no allowlist", () => {
    expect(isOriginAllowed("https://evil.example", null)).toBe(true);
  });

  it("allows listed origins only, compared as origins", () => {
    expect(isOriginAllowed("https://app.example.com", allowed)).toBe(true);
    expect(isOriginAllowed("https://APP.example.com", allowed)).toBe(true);
    expect(isOriginAllowed("http://localhost:5173", allowed)).toBe(true);
    expect(isOriginAllowed("http://app.example.com", allowed)).toBe(false);
    expect(isOriginAllowed("https://app.example.com.evil.example", allowed)).toBe(false);
    expect(isOriginAllowed("http://localhost:5174", allowed)).toBe(false);
    expect(isOriginAllowed("garbage", allowed)).toBe(false);
  });

  it("refuses the opaque origin null, and lets clients without Origin through", () => {
    expect(isOriginAllowed("null", allowed)).toBe(false);
    expect(isOriginAllowed(null, allowed)).toBe(true);
  });
});

describe("isWebSocketUpgrade", () => {
  it("recognises Upgrade: websocket in any case", () => {
    expect(isWebSocketUpgrade(new Request("http://b/", { headers: { Upgrade: "WebSocket" } }))).toBe(true);
    expect(isWebSocketUpgrade(new Request("http://b/"))).toBe(false);
  });
});
