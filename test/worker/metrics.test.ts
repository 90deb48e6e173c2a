import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { ADMIN_KEY, hs256, nowS, SECRET } from "./auth-fixtures";
import { text, topicStub, unwrap } from "./helpers";
import { expectProblem } from "./http-support";

const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;

function scrape(query: string, token: string = ADMIN_KEY): Promise<Response> {
  const headers = { Authorization: `Bearer ${token}` };
  return Promise.resolve(
    app.fetch(
      new Request(`http://broker/v1/metrics${query}`, { headers }),
      secured,
      createExecutionContext(),
    ),
  );
}

/** Topics named `<prefix>.<n>`, each with a message published and a subscription that holds it. */
async function topics(count: number): Promise<{ prefix: string; names: string[] }> {
  const prefix = `m${crypto.randomUUID().slice(0, 8)}`;
  const names = Array.from({ length: count }, (_, i) => `${prefix}.${i}`);
  for (const name of names) {
    unwrap(await topicStub(name).putSubscription("billing", { startAt: "earliest" }));
    unwrap(await topicStub(name).publish([text("a"), text("b")]));
  }
  return { prefix, names };
}

/** `name{labels} value` lines of one metric. */
const samples = (body: string, metric: string) => body.split("\n").filter((l) => l.startsWith(`${metric}{`));

const requestsTo = async (name: string) => unwrap(await topicStub(name).info()).usage.requests;

describe("GET /v1/metrics", () => {
  it("answers the topics of a prefix in the Prometheus text format", async () => {
    const { prefix, names } = await topics(2);
    unwrap(await topicStub(names[0] as string).pull("billing", { max: 1, wait: 0 }));
    const res = await scrape(`?prefix=${prefix}.`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const body = await res.text();
    expect(body).toContain("# HELP edge_broker_topic_published_total Messages published to the topic.\n");
    expect(body).toContain("# TYPE edge_broker_topic_published_total counter\n");
    expect(samples(body, "edge_broker_topic_published_total")).toEqual(
      names.map((name) => `edge_broker_topic_published_total{topic="${name}"} 2`),
    );
    expect(samples(body, "edge_broker_subscription_in_flight")).toEqual([
      `edge_broker_subscription_in_flight{topic="${names[0]}",subscription="billing"} 1`,
      `edge_broker_subscription_in_flight{topic="${names[1]}",subscription="billing"} 0`,
    ]);
    expect(samples(body, "edge_broker_subscription_backlog").every((l) => l.endsWith(" 2"))).toBe(true);
    expect(samples(body, "edge_broker_subscription_oldest_unacked_age_seconds")).toHaveLength(2);
    expect(body).toContain("edge_broker_metrics_topics 2\n");
    // Every counter ends in _total; no family is declared twice.
    const types = body.split("\n").filter((l) => l.startsWith("# TYPE "));
    expect(new Set(types).size).toBe(types.length);
    for (const line of types.filter((l) => l.endsWith(" counter"))) expect(line).toMatch(/_total counter$/);
  });

  it("pages by topics with a Link to the next page, and wakes only the page's objects", async () => {
    const { prefix, names } = await topics(5);
    const before = await Promise.all(names.map(requestsTo));
    const first = await scrape(`?prefix=${prefix}.&limit=2`);
    const link = first.headers.get("link");
    expect(link).toBe(`</v1/metrics?prefix=${prefix}.&cursor=${prefix}.1&limit=2>; rel="next"`);
    expect(samples(await first.text(), "edge_broker_topic_messages")).toHaveLength(2);
    const after = await Promise.all(names.map(requestsTo));
    // Each info() is one request; the scrape adds one to the two topics of its page only.
    expect(after.map((n, i) => n - (before[i] as number))).toEqual([2, 2, 1, 1, 1]);

    const seen: string[] = [];
    let next: string | null = `?prefix=${prefix}.&limit=2`;
    while (next) {
      const res = await scrape(next);
      seen.push(...samples(await res.text(), "edge_broker_topic_messages"));
      next = /<\/v1\/metrics(\?[^>]*)>/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
    }
    expect(seen).toEqual(names.map((name) => `edge_broker_topic_messages{topic="${name}"} 2`));
  });

  it("needs admin, and shows a token only the topics it holds admin on", async () => {
    const { prefix, names } = await topics(2);
    const reader = await hs256({ cap: { [`${prefix}.*`]: ["subscribe"] }, exp: nowS() + 600 });
    await expectProblem(await scrape(`?prefix=${prefix}.`, reader), 403, "forbidden");
    const admin = await hs256({ cap: { [names[1] as string]: ["admin"] }, exp: nowS() + 600 });
    const body = await (await scrape(`?prefix=${prefix}.`, admin)).text();
    expect(samples(body, "edge_broker_topic_messages")).toEqual([
      `edge_broker_topic_messages{topic="${names[1]}"} 2`,
    ]);
  });

  it("refuses a page larger than 100 topics", async () => {
    await expectProblem(await scrape("?limit=101"), 400, "invalid_request");
  });
});
