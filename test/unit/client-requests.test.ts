import { describe, expect, it } from "vitest";
import { Broker } from "../../src/client/client";
import { BrokerError } from "../../src/client/errors";
import { Message, Reply } from "../../src/client/message";
import { batchEntry, rawPublish } from "../../src/client/publish";
import { replyVia } from "../../src/client/replies";
import { Transport } from "../../src/client/transport";
import { problem } from "../../src/protocol/errors";

/** A fetch that records each request and answers with `answer`. */
function recording(answer: (request: Request) => Response) {
  const seen: Request[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    seen.push(request.clone() as Request);
    return answer(request);
  };
  return { seen, fetch: fetch as typeof globalThis.fetch };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": status < 400 ? "application/json" : "application/problem+json" },
  });

describe("publish options for replies", () => {
  it("carry replyTo and correlationId as headers, or as batch fields", () => {
    const raw = rawPublish({ id: 1 }, { replyTo: "order-replies", correlationId: "order 7" });
    expect(raw?.headers).toMatchObject({ "reply-to": "order-replies", "correlation-id": "order 7" });
    expect(batchEntry({ data: 1, replyTo: "r", correlationId: "c" })).toMatchObject({
      replyTo: "r",
      correlationId: "c",
    });
    // A correlation id a header cannot carry verbatim goes as a batch entry instead.
    expect(rawPublish("x", { correlationId: "é" })).toBeUndefined();
  });
});

describe("Broker.request", () => {
  it("posts the raw request with its timeout and resolves with the reply", async () => {
    const { seen, fetch } = recording(() =>
      json({
        id: "r1",
        publishedAt: 5,
        contentType: "application/json",
        attributes: {},
        correlationId: "c-1",
        data: { inStock: true },
      }),
    );
    const broker = new Broker({ url: "http://broker.test", fetch });
    const reply = await broker.request(
      "inventory",
      { sku: "BK-1" },
      { timeout: "2s", correlationId: "c-1", attributes: { tier: "gold" } },
    );
    expect(reply).toBeInstanceOf(Reply);
    expect(reply.json()).toEqual({ inStock: true });
    expect(reply.correlationId).toBe("c-1");
    const [request] = seen;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("http://broker.test/v1/topics/inventory/requests?timeout=2s");
    expect(request?.headers.get("correlation-id")).toBe("c-1");
    expect(request?.headers.get("x-attr-tier")).toBe("gold");
    expect(await request?.text()).toBe('{"sku":"BK-1"}');
  });

  it("rejects with the broker's code: reply_timeout, no_responders", async () => {
    for (const [code, status] of [
      ["reply_timeout", 504],
      ["no_responders", 503],
    ] as const) {
      const { fetch } = recording(() => json(problem(code, "nobody"), status));
      const broker = new Broker({ url: "http://broker.test", fetch });
      const refused = await broker.request("t", 1).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(BrokerError);
      expect(refused).toMatchObject({ code, status });
    }
  });

  it("refuses attributes a header cannot carry, before sending anything", async () => {
    const { seen, fetch } = recording(() => json({}));
    const broker = new Broker({ url: "http://broker.test", fetch });
    await expect(broker.request("t", 1, { attributes: { Region: "eu" } })).rejects.toMatchObject({
      code: "invalid_request",
    });
    expect(seen).toHaveLength(0);
  });
});

describe("Message.reply", () => {
  const wire = {
    seq: 3,
    id: "m",
    publishedAt: 1,
    contentType: "application/json",
    attributes: {},
    data: { q: 1 },
  };

  it("posts to the replyTo with the message's correlationId", async () => {
    const { seen, fetch } = recording(() => json({ delivered: true }));
    const replier = replyVia(new Transport({ url: "http://broker.test", fetch }));
    const message = new Message(
      { ...wire, replyTo: "_reply.0123456789abcdef0123456789abcdef", correlationId: "c-9" },
      replier,
    );
    await message.reply({ inStock: false }, { attributes: { warehouse: "north" } });
    const [request] = seen;
    expect(request?.url).toBe("http://broker.test/v1/replies/_reply.0123456789abcdef0123456789abcdef");
    expect(request?.headers.get("correlation-id")).toBe("c-9");
    expect(request?.headers.get("x-attr-warehouse")).toBe("north");
    expect(await request?.json()).toEqual({ inStock: false });
  });

  it("rejects with gone when nobody waits, and with a TypeError when there is no replyTo", async () => {
    const { fetch } = recording(() => json(problem("gone", "nobody waits"), 410));
    const replier = replyVia(new Transport({ url: "http://broker.test", fetch }));
    await expect(new Message({ ...wire, replyTo: "replies" }, replier).reply(1)).rejects.toMatchObject({
      code: "gone",
      status: 410,
    });
    await expect(new Message(wire, replier).reply(1)).rejects.toBeInstanceOf(TypeError);
  });
});
