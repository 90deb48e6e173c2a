/**
 * The HTTP API of a real broker process, as a user meets it: the README's curl session replayed
 * with fetch, the shape of errors, and state that outlives a restart of `npm start`.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Problem } from "../../src/protocol/errors";
import { type Broker, freshTopic, type JsonResponse, removeState, startBroker } from "./harness";
import { matchesShown, readmeSession } from "./readme-session";

/** The topic the README's session publishes to; each run uses a fresh name in its place. */
const README_TOPIC = "orders";

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.stop();
  if (broker) await removeState(broker);
});

/** Replaces the README's topic name with `topic` in strings that are exactly it. */
function renameTopic(shown: unknown, topic: string): unknown {
  if (shown === README_TOPIC) return topic;
  if (Array.isArray(shown)) return shown.map((item) => renameTopic(item, topic));
  if (typeof shown === "object" && shown !== null) {
    return Object.fromEntries(Object.entries(shown).map(([k, v]) => [k, renameTopic(v, topic)]));
  }
  return shown;
}

async function expectProblem(
  res: Promise<JsonResponse>,
  status: number,
  code: Problem["code"],
): Promise<Problem & { headers: Headers }> {
  const { status: actual, headers, body } = await res;
  expect({ status: actual, body }).toMatchObject({ status, body: { status, code } });
  expect(headers.get("content-type")).toBe("application/problem+json");
  const problem = body as Problem;
  expect(problem.type).toBe(`https://edge-broker.dev/errors/${code}`);
  expect(problem.title).toEqual(expect.any(String));
  expect(problem.detail).toEqual(expect.any(String));
  return { ...problem, headers };
}

describe("the README's curl session", () => {
  test("works as written, and each answer has what the README shows", async () => {
    const steps = await readmeSession();
    expect(steps.map((s) => `${s.method} ${s.path.split("?")[0]}`)).toEqual([
      "POST /v1/topics/orders/messages",
      "POST /v1/topics/orders/messages",
      "GET /v1/topics/orders/messages",
      "PUT /v1/topics/orders/subscriptions/billing",
      "POST /v1/topics/orders/subscriptions/billing/pull",
      "POST /v1/topics/orders/subscriptions/billing/ack",
      "GET /v1/topics/orders/subscriptions/billing",
      "GET /v1/topics/orders",
    ]);
    const topic = freshTopic();
    for (const step of steps) {
      const res = await broker.json(step.path.replace(`/topics/${README_TOPIC}`, `/topics/${topic}`), {
        method: step.method,
        headers: step.headers,
        body: step.body ?? null,
      });
      expect(res.status, step.command).toBeGreaterThanOrEqual(200);
      expect(res.status, step.command).toBeLessThan(300);
      if (step.shown !== undefined) {
        const shown = renameTopic(step.shown, topic);
        const why = `${step.command}\nshown:  ${JSON.stringify(shown)}\nanswer: ${JSON.stringify(res.body)}`;
        expect(matchesShown(res.body, shown), why).toBe(true);
      }
    }
  });
});

describe("errors", () => {
  test("a publish of malformed JSON is refused as problem+json and writes nothing", async () => {
    const topic = freshTopic();
    const problem = await expectProblem(
      broker.json(`/v1/topics/${topic}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"order": 1',
      }),
      400,
      "invalid_request",
    );
    expect(problem.detail).toContain("JSON");
    await expectProblem(broker.json(`/v1/topics/${topic}`), 404, "not_found");
  });

  test("a topic name outside the allowed characters is invalid_name", async () => {
    await expectProblem(
      broker.json("/v1/topics/no%20spaces/messages", { method: "POST", body: "x" }),
      400,
      "invalid_name",
    );
  });

  test("reading a topic that does not exist is not_found", async () => {
    await expectProblem(broker.json(`/v1/topics/${freshTopic()}/messages`), 404, "not_found");
  });

  test("a pull with a malformed body is refused before the subscription is looked up", async () => {
    const problem = await expectProblem(
      broker.json(`/v1/topics/${freshTopic()}/subscriptions/s/pull`, {
        method: "POST",
        json: { max: "ten" },
      }),
      400,
      "invalid_request",
    );
    expect(problem.detail).toContain("max");
  });

  test("a method a path does not serve is 405 with Allow", async () => {
    const problem = await expectProblem(
      broker.json(`/v1/topics/${freshTopic()}/messages`, { method: "DELETE" }),
      405,
      "invalid_request",
    );
    expect(problem.headers.get("allow")).toContain("POST");
    expect(problem.detail).toContain("DELETE");
  });
});

describe("a broker restarted on its state directory", () => {
  test("keeps the log, the subscription and its acks", async () => {
    const topic = freshTopic();
    const publish = (n: number) =>
      broker.json<{ seq: number }>(`/v1/topics/${topic}/messages`, { method: "POST", json: { n } });
    expect((await publish(1)).body.seq).toBe(1);
    expect((await publish(2)).body.seq).toBe(2);
    const sub = `/v1/topics/${topic}/subscriptions/s`;
    expect((await broker.json(sub, { method: "PUT", json: { startAt: "earliest" } })).status).toBe(201);
    const pulled = await broker.json<{ messages: { seq: number }[] }>(`${sub}/pull`, {
      method: "POST",
      json: { max: 1 },
    });
    expect(pulled.body.messages.map((m) => m.seq)).toEqual([1]);
    expect((await broker.json(`${sub}/ack`, { method: "POST", json: { seqs: [1] } })).body).toEqual({
      acked: 1,
    });

    await broker.stop();
    broker = await startBroker({ stateDir: broker.stateDir, port: broker.port });

    const info = await broker.json<{ stats: { lastSeq: number } }>(`/v1/topics/${topic}`);
    expect(info.body.stats.lastSeq).toBe(2);
    const next = await broker.json<{ messages: { seq: number; data: unknown }[] }>(`${sub}/pull`, {
      method: "POST",
      json: { max: 10 },
    });
    expect(next.body.messages.map((m) => [m.seq, m.data])).toEqual([[2, { n: 2 }]]);
    expect((await publish(3)).body.seq).toBe(3);
  });
});
