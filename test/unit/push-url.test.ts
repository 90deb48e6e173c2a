import { describe, expect, it } from "vitest";
import { checkPushUrl } from "../../src/protocol/push-url";
import { retryAfterMs } from "../../src/topic/push-outcome";

const production = { allowPrivate: false, ownHost: "broker.example.workers.dev" };
const local = { allowPrivate: true, ownHost: "127.0.0.1:8787" };

describe("checkPushUrl", () => {
  it.each([
    "https://hooks.example.com/orders",
    "https://hooks.example.com:8443/a?b=c",
    "https://xn--bcher-kva.example/",
  ])("allows the public https receiver %s", (url) => {
    expect(checkPushUrl(url, production).ok).toBe(true);
  });

  it.each([
    ["http://hooks.example.com/", /https:/],
    ["https://127.0.0.1/", /IP address/],
    ["https://2130706433/", /IP address \(127\.0\.0\.1\)/],
    ["https://017700000001/", /IP address \(127\.0\.0\.1\)/],
    ["https://0x7f000001/", /IP address \(127\.0\.0\.1\)/],
    ["https://0x7f.1/", /IP address/],
    ["https://127.1/", /IP address/],
    ["https://10.1.2.3/", /IP address/],
    ["https://172.31.255.255/", /IP address/],
    ["https://192.168.0.1/", /IP address/],
    ["https://169.254.169.254/", /IP address/],
    ["https://8.8.8.8/", /IP address/],
    ["https://[::1]/", /IP address/],
    ["https://[::ffff:127.0.0.1]/", /IP address/],
    ["https://[::ffff:a9fe:a9fe]/", /IP address/],
    ["https://[fc00::1]/", /IP address/],
    ["https://localhost/", /this machine/],
    ["https://LOCALHOST./", /this machine/],
    ["https://a.b.localhost/", /this machine/],
    ["https://metadata.google.internal/", /metadata/],
    ["https://db.internal/", /private network/],
    ["https://nas.local/", /private network/],
    ["https://router.home.arpa/", /private network/],
    ["https://intranet/", /dotted DNS name/],
    ["https://u:p@hooks.example.com/", /credentials/],
    ["https://broker.example.workers.dev/v1/topics", /own host/],
    ["file:///etc/passwd", /https:/],
    ["javascript:alert(1)", /https:/],
    ["//hooks.example.com/", /absolute/],
  ])("refuses %s", (url, why) => {
    const check = checkPushUrl(url, production);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.detail).toMatch(why);
  });

  it("allows http and loopback with PUSH_ALLOW_PRIVATE, never the broker itself nor other private addresses", () => {
    expect(checkPushUrl("http://127.0.0.1:9000/hook", local).ok).toBe(true);
    expect(checkPushUrl("http://localhost:9000/hook", local).ok).toBe(true);
    expect(checkPushUrl("http://[::1]:9000/hook", local).ok).toBe(true);
    expect(checkPushUrl("http://127.0.0.1:8787/v1/topics", local).ok).toBe(false);
    expect(checkPushUrl("http://169.254.169.254/", local).ok).toBe(false);
    expect(checkPushUrl("http://10.0.0.1/", local).ok).toBe(false);
  });
});

describe("retryAfterMs", () => {
  const now = Date.UTC(2026, 0, 1);
  it("reads seconds and HTTP dates, bounded to an hour", () => {
    expect(retryAfterMs("2", now)).toBe(2_000);
    expect(retryAfterMs(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(retryAfterMs(new Date(now - 30_000).toUTCString(), now)).toBe(0);
    expect(retryAfterMs("999999", now)).toBe(3_600_000);
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
