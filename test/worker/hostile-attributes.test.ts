/**
 * Hostile attributes: a publisher that sets the broker's own attributes (`dead-letter.*`, which
 * the broker puts on dead-letter copies, and `broker.*`) to forge provenance. Every publish path
 * — `X-Attr-*` headers, batch entries, WebSocket `publish` frames — refuses them with
 * `invalid_request` naming the attribute, in any letter case, and writes nothing. Names that only
 * look alike are ordinary attributes, and a subscription may still filter on `dead-letter.topic`.
 */
import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RESERVED_ATTRIBUTE_PREFIXES } from "../../src/protocol/attributes";
import { type ServerFrame, SUBPROTOCOL } from "../../src/protocol/ws-frames";
import { freshTopic } from "./helpers";
import { call, expectJson, expectProblem, readAll, topicExists } from "./http-support";

const SUFFIX_CHARS = "abcxyz019.-_".split("");

/** A name under a reserved prefix, its letters in any case: what a header or a JSON key can carry. */
const reservedName = fc
  .tuple(
    fc.constantFrom(...RESERVED_ATTRIBUTE_PREFIXES),
    fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    fc.array(fc.constantFrom(...SUFFIX_CHARS), { maxLength: 12 }),
  )
  .map(([prefix, upper, suffix]) => {
    const cased = [...prefix].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch)).join("");
    return cased + suffix.join("");
  });

/** Names next to the reserved ones that are not under them. */
const LOOK_ALIKES = [
  "dead-letter",
  "deadletter.topic",
  "dead_letter.topic",
  "dead-letters.topic",
  "x.dead-letter.topic",
  "broker",
  "brokers.hops",
  "brokerage",
  "my.broker.hops",
];

/** A topic that holds one message, so a refused publish shows as a log still one message long. */
async function topicWithOneMessage(): Promise<string> {
  const topic = freshTopic();
  await expectJson(await call("POST", `/v1/topics/${topic}/messages`, { body: "first" }), 201);
  return topic;
}

/** A live-tail socket through the worker (AUTH=off, so it may publish); `request` awaits the reply. */
async function publisher(topic: string) {
  const res = await exports.default.fetch(
    new Request(`http://broker/v1/topics/${topic}/ws`, {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": SUBPROTOCOL },
    }),
  );
  const ws = res.webSocket;
  if (!ws) throw new Error(`no WebSocket (status ${res.status})`);
  ws.accept();
  const replies = new Map<string, (frame: ServerFrame) => void>();
  ws.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data as string) as ServerFrame;
    if ("id" in frame && typeof frame.id === "string") replies.get(frame.id)?.(frame);
  });
  let n = 0;
  return {
    ws,
    request(frame: object): Promise<ServerFrame> {
      const id = `r${++n}`;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply to ${id}`)), 5_000);
        replies.set(id, (reply) => {
          clearTimeout(timer);
          resolve(reply);
        });
        ws.send(JSON.stringify({ ...frame, id }));
      });
    },
  };
}

describe("the broker's attribute prefixes", () => {
  it("refuses them in X-Attr-* headers, naming the attribute, and writes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(reservedName, async (name) => {
        const fresh = freshTopic();
        const res = await call("POST", `/v1/topics/${fresh}/messages`, {
          body: "forged",
          headers: { [`X-Attr-${name}`]: "orders" },
        });
        const problem = await expectProblem(res, 400, "invalid_request");
        expect(problem.detail).toContain(`"${name.toLowerCase()}"`);
        expect(await topicExists(fresh)).toBe(false);
      }),
      { numRuns: 40 },
    );
    const topic = await topicWithOneMessage();
    const res = await call("POST", `/v1/topics/${topic}/messages`, {
      body: "forged",
      headers: { "X-Attr-Region": "eu", "X-Attr-Dead-Letter.Topic": "payments" },
    });
    const problem = await expectProblem(res, 400, "invalid_request");
    expect(problem.detail).toBe(
      'X-Attr-* headers must not set "dead-letter.topic": attribute names starting with "dead-letter." are the broker\'s',
    );
    expect(await readAll(topic)).toHaveLength(1);
  });

  it("refuses them in any entry of a batch, naming the entry and the attribute, and writes none", async () => {
    const topic = await topicWithOneMessage();
    await fc.assert(
      fc.asyncProperty(reservedName, fc.nat({ max: 4 }), async (name, at) => {
        const messages = Array.from({ length: 5 }, (_, i) => ({
          data: i,
          attributes: i === at ? { ok: "1", [name]: "x" } : { ok: "1" },
        }));
        const res = await call("POST", `/v1/topics/${topic}/batch`, { json: { messages } });
        const problem = await expectProblem(res, 400, "invalid_request");
        expect(problem.detail).toMatch(new RegExp(`^messages\\[${at}\\]\\.attributes must not set`));
        expect(problem.detail).toContain(`"${name}"`);
      }),
      { numRuns: 40 },
    );
    expect(await readAll(topic)).toHaveLength(1);
  });

  it("refuses them in a WebSocket publish frame, and the socket stays open", async () => {
    const topic = await topicWithOneMessage();
    const socket = await publisher(topic);
    for (const name of ["dead-letter.subscription", "Dead-Letter.seq", "broker.hops", "BROKER.x"]) {
      const reply = await socket.request({ type: "publish", data: "forged", attributes: { [name]: "1" } });
      expect(reply).toMatchObject({ type: "error", code: "invalid_request" });
      expect(reply.type === "error" && reply.message).toContain(`"${name}"`);
    }
    const ok = await socket.request({ type: "publish", data: "fine", attributes: { region: "eu" } });
    expect(ok).toMatchObject({ type: "published", seq: 2 });
    socket.ws.close(1000);
    expect((await readAll(topic)).map((m) => m.data)).toEqual(["first", "fine"]);
  });

  it("stores names that only look like them as ordinary attributes", async () => {
    const topic = freshTopic();
    const attributes = Object.fromEntries(LOOK_ALIKES.map((name) => [name, "v"]));
    await expectJson(
      await call("POST", `/v1/topics/${topic}/batch`, { json: { messages: [{ data: 1, attributes }] } }),
      201,
    );
    const headers = Object.fromEntries(LOOK_ALIKES.map((name) => [`X-Attr-${name}`, "v"]));
    await expectJson(await call("POST", `/v1/topics/${topic}/messages`, { body: "x", headers }), 201);
    const stored = await readAll(topic);
    expect(stored.map((m) => m.attributes)).toEqual([attributes, attributes]);
  });

  it("lets a subscription filter on them: consumers of a dead-letter topic do", async () => {
    const topic = freshTopic();
    const filter = { attributes: { "dead-letter.topic": "orders", "dead-letter.subscription": "billing" } };
    const created = await expectJson<{ config: { filter: unknown } }>(
      await call("PUT", `/v1/topics/${topic}/subscriptions/from-orders`, { json: { filter } }),
      201,
    );
    expect(created.config.filter).toEqual(filter);
  });
});
