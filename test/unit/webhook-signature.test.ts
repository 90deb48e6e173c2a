import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { newSecret, signatureHeader } from "../../src/topic/webhook-signature";

const utf8 = new TextEncoder();

describe("Standard Webhooks signatures", () => {
  it("verify with the standardwebhooks package, with either secret during a rotation", async () => {
    const [old, current] = [newSecret(), newSecret()];
    expect(current).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ seq: 1, data: { é: "ü" } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      "webhook-id": "msg/billing",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await signatureHeader([current, old], "msg/billing", timestamp, utf8.encode(body)),
    };
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    for (const secret of [old, current])
      expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(current).verify(`${body} `, headers)).toThrow();
  });
});
