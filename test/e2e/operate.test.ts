/**
 * What an operator points tools at, on a real broker process: `/v1/metrics` scraped and checked
 * by Prometheus's own `promtool`, `/docs` and `/v1/openapi.json` as a browser gets them, and the
 * JSON log lines the process writes.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { version } from "../../package.json";
import { type Broker, freshTopic, removeState, startBroker } from "./harness";
import { matchesShown, README_ORIGIN, readmeSession } from "./readme-session";

const ADMIN_KEY = "operate-admin-key-0123456789";
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

// promtool comes with Debian's `prometheus` package, which .ci/run installs: without it a
// developer's run skips the scrape check and says so; CI fails instead.
const havePromtool = spawnSync("promtool", ["--version"]).status === 0;
if (!havePromtool && !process.env.CI) {
  console.warn("the promtool check is skipped: no promtool on PATH (apt-get install prometheus)");
}

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ vars: { AUTH: "required", ADMIN_KEY } });
});

afterAll(async () => {
  await broker?.stop();
  if (broker) await removeState(broker);
});

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("operating a broker", () => {
  it.skipIf(!havePromtool && !process.env.CI)(
    "a scrape of /v1/metrics passes promtool check metrics",
    async () => {
      const prefix = `${freshTopic()}.`;
      const [orders, copies] = [`${prefix}orders`, `${prefix}copies`];
      const put = (path: string, json: unknown) =>
        broker
          .json(path, { method: "PUT", headers: admin, json })
          .then((r) => expect(r.status).toBeLessThan(300));
      await put(`/v1/topics/${copies}`, {});
      await put(`/v1/topics/${orders}`, { routes: [{ name: "copy", to: copies }] });
      await put(`/v1/topics/${orders}/subscriptions/billing`, { startAt: "earliest", maxAttempts: 2 });
      // A receiver nobody listens on: push fails, and says so in the metrics.
      await put(`/v1/topics/${orders}/subscriptions/hook`, {
        startAt: "earliest",
        push: { url: "http://127.0.0.1:9/hook", timeout: "1s" },
      });
      for (let i = 0; i < 3; i++) {
        const res = await broker.json(`/v1/topics/${orders}/messages`, {
          method: "POST",
          headers: admin,
          json: { i },
        });
        expect(res.status).toBe(201);
      }
      await broker.json(`/v1/topics/${orders}/subscriptions/billing/pull`, {
        method: "POST",
        headers: admin,
        json: { max: 2 },
      });
      const scrape = () => fetch(`${broker.url}/v1/metrics?prefix=${prefix}`, { headers: admin });
      await until(
        async () => (await (await scrape()).text()).includes("edge_broker_subscription_push_failures_total"),
        "a push failure",
      );

      const body = await (await scrape()).text();
      expect(body).toContain(`edge_broker_route_lag{topic="${orders}",route="copy"}`);
      expect(body).toContain(
        `edge_broker_subscription_in_flight{topic="${orders}",subscription="billing"} 2`,
      );
      const check = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
      expect({ status: check.status, out: `${check.stdout}${check.stderr}` }).toEqual({ status: 0, out: "" });
    },
  );

  it.skipIf(!havePromtool && !process.env.CI)(
    "the README's Prometheus job passes promtool check config",
    async () => {
      const readme = await readFile(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
      const section = readme.slice(readme.indexOf("\n## Operate"));
      const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
      expect(yaml).toContain("metrics_path: /v1/metrics");
      const dir = await mkdtemp(path.join(tmpdir(), "edge-broker-prometheus-"));
      try {
        await writeFile(path.join(dir, "prometheus.yml"), yaml);
        const check = spawnSync("promtool", ["check", "config", path.join(dir, "prometheus.yml")], {
          encoding: "utf8",
        });
        expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it("serves /docs, the API reference rendered from /v1/openapi.json, and the document, without a credential", async () => {
    const docs = await fetch(`${broker.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toMatch(/^text\/html/);
    expect(docs.headers.get("content-security-policy")).toBe("img-src 'self' data:");
    const page = await docs.text();
    expect(page).toContain("<title>edge-broker API</title>");
    expect(page).toContain("Publish one message: the raw body with its Content-Type");
    expect(page).not.toMatch(/<script[^>]+src="https?:/);

    const { status, body } = await broker.json<{ openapi: string; info: { version: string } }>(
      "/v1/openapi.json",
    );
    expect(status).toBe(200);
    expect(body.openapi).toBe("3.1.0");
    expect(body.info.version).toBe(version);
    expect((await broker.json("/v1/topics")).status).toBe(401);
  });

  it("writes JSON log lines that carry the request id a problem answers with", async () => {
    const res = await broker.json<{ requestId: string; code: string }>(`/v1/topics/${freshTopic()}`, {
      headers: admin,
    });
    expect(res.body.code).toBe("not_found");
    expect(res.headers.get("request-id")).toBe(res.body.requestId);
    let line: Record<string, unknown> | undefined;
    await until(async () => {
      line = broker
        .logs()
        .split("\n")
        .filter((l) => l.includes(res.body.requestId))
        .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>)[0];
      return line !== undefined;
    }, "the request's log line");
    expect(line).toMatchObject({
      level: "info",
      msg: "request",
      status: 404,
      code: "not_found",
      method: "GET",
    });
  });
});

describe("the README's Operate section", () => {
  let fresh: Broker;

  beforeAll(async () => {
    // A broker of its own: the README's sessions name the topic "orders", as on a fresh `npm start`.
    fresh = await startBroker();
  });

  afterAll(async () => {
    await fresh?.stop();
    if (fresh) await removeState(fresh);
  });

  it("works as written after the Try it session, the metrics scrape included", async () => {
    const tryIt = await readmeSession();
    const operate = await readmeSession("## Operate");
    expect(operate.map((s) => `${s.method} ${s.path}`)).toEqual([
      "GET /v1/openapi.json",
      "GET /v1/topics/orders/subscriptions/billing",
      "GET /v1/topics/orders",
    ]);
    for (const step of [...tryIt, ...operate]) {
      const res = await fresh.json(step.path, {
        method: step.method,
        headers: step.headers,
        body: step.body ?? null,
      });
      expect(res.status, step.command).toBeLessThan(300);
      if (step.shown !== undefined) {
        const why = `${step.command}\nshown:  ${JSON.stringify(step.shown)}\nanswer: ${JSON.stringify(res.body)}`;
        expect(matchesShown(res.body, step.shown), why).toBe(true);
      }
    }

    // The scrape: its command, and each line it shows is a line of the answer.
    const readme = await readFile(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
    const section = readme.slice(readme.indexOf("\n## Operate"));
    const block = /```sh\n(curl -s '[^']*\/v1\/metrics[^\n]*)\n([\s\S]*?)```/.exec(section);
    const url = /'([^']+)'/.exec(block?.[1] ?? "")?.[1] ?? "";
    expect(url.startsWith(`${README_ORIGIN}/v1/metrics`)).toBe(true);
    const shown = (block?.[2] ?? "")
      .split("\n")
      .filter((l) => l.startsWith("# → "))
      .map((l) => l.slice(4));
    expect(shown.length).toBeGreaterThan(0);
    const text = await (await fetch(`${fresh.url}${url.slice(README_ORIGIN.length)}`)).text();
    for (const line of shown) expect(text.split("\n"), line).toContain(line);
  });
});
