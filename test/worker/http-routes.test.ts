import { createExecutionContext, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { ADMIN_KEY, hs256, nowS, SECRET } from "./auth-fixtures";
import { freshTopic, topicStub } from "./helpers";
import { call, expectJson, expectProblem, readAll, topicExists } from "./http-support";

const putRoutes = (topic: string, routes: unknown[]) =>
  call("PUT", `/v1/topics/${topic}`, { json: { routes } });

describe("PUT /v1/topics/{topic} with routes", () => {
  it("takes routes with defaults, shows them to admins, and forwards", async () => {
    const [source, target] = [freshTopic("orders"), freshTopic("eu")];
    await expectJson(await call("PUT", `/v1/topics/${target}`, { json: {} }), 201);
    const put = await putRoutes(source, [
      {
        name: "eu-orders",
        to: target,
        filter: { attributes: { region: "eu" } },
        transform: '{"data": {"id": data.id}}',
      },
    ]);
    const info = await expectJson<{ config: { routes: unknown[] }; stats: { routes: unknown[] } }>(put, 201);
    expect(info.config.routes).toEqual([
      {
        name: "eu-orders",
        to: target,
        filter: { attributes: { region: "eu" } },
        transform: '{"data": {"id": data.id}}',
        maxAttempts: 5,
        backoff: { min: 1_000, max: 60_000 },
        deadLetterTopic: null,
      },
    ]);
    expect(info.stats.routes).toEqual([expect.objectContaining({ name: "eu-orders", lag: 0, forwarded: 0 })]);
    await call("POST", `/v1/topics/${source}/messages`, {
      body: JSON.stringify({ id: 7, secret: "x" }),
      headers: { "content-type": "application/json", "x-attr-region": "eu" },
    });
    await runDurableObjectAlarm(topicStub(source));
    expect((await readAll(target)).map((m) => m.data)).toEqual([{ id: 7 }]);
  });

  it("refuses a bad route naming the part that is wrong, and writes nothing", async () => {
    const topic = freshTopic();
    const cases: [unknown, string][] = [
      [
        { name: "r", to: "t", transform: '{"data": data.' },
        "routes[0].transform is not a valid JSONata expression",
      ],
      [
        { name: "r", to: "t", transform: '{"data": $match(data.a, /x+/)}' },
        "routes[0].transform must not use regular expressions",
      ],
      [
        { name: "r", to: "t", filter: { data: { total: [{ numeric: [">", "1"] }] } } },
        "routes[0].filter.data.total[0].numeric[1] must be a finite number",
      ],
      [{ name: "r", to: topic }, "routes[0].to must not be the route's own topic"],
      [{ name: "r", to: "t", maxAttempts: 0 }, "routes[0].maxAttempts must be an integer between 1 and 1000"],
      [{ name: "r", to: "no spaces" }, "routes[0].to must be a name"],
      [{ name: "r", to: "t", extra: 1 }, 'routes[0] has an unknown field "extra"'],
    ];
    for (const [route, detail] of cases) {
      const problem = await expectProblem(await putRoutes(topic, [route]), 400, "invalid_request");
      expect(problem.detail).toContain(detail);
    }
    const twice = await putRoutes(topic, [
      { name: "r", to: "a" },
      { name: "r", to: "b" },
    ]);
    expect((await expectProblem(twice, 400, "invalid_request")).detail).toContain(
      "routes[1].name must be unique",
    );
    expect(await topicExists(topic)).toBe(false);
  });

  it("refuses a route that leads back to its topic, through routes and dead-letter topics alike", async () => {
    const [a, b, c] = [freshTopic("a"), freshTopic("b"), freshTopic("c")];
    await expectJson(await putRoutes(a, [{ name: "to-b", to: b }]), 201);
    await expectJson(
      await call("PUT", `/v1/topics/${b}/subscriptions/s`, { json: { deadLetterTopic: c, maxAttempts: 1 } }),
      201,
    );
    const problem = await expectProblem(
      await putRoutes(c, [{ name: "to-a", to: a }]),
      400,
      "invalid_request",
    );
    expect(problem.detail).toContain(`${c} → ${a} → ${b} → ${c}`);
    // A subscription's dead-letter topic is checked against routes too.
    await expectJson(await putRoutes(c, [{ name: "elsewhere", to: freshTopic("x") }]), 201);
    const dead = await call("PUT", `/v1/topics/${c}/subscriptions/s`, { json: { deadLetterTopic: a } });
    expect((await expectProblem(dead, 400, "invalid_request")).detail).toContain(`${c} → ${a} → ${b} → ${c}`);
  });
});

describe("rights to configure a route", () => {
  const secured = { ...env, AUTH: "required", JWT_SECRET: SECRET, ADMIN_KEY } as Env;
  const put = async (topic: string, cap: Record<string, string[]>, routes: unknown[]) =>
    app.fetch(
      new Request(`http://broker/v1/topics/${topic}`, {
        method: "PUT",
        body: JSON.stringify({ routes }),
        headers: {
          authorization: `Bearer ${await hs256({ cap, exp: nowS() + 600 })}`,
          "content-type": "application/json",
        },
      }),
      secured,
      createExecutionContext(),
    );

  it("are admin on the source and publish on the target and the dead-letter topic", async () => {
    const [source, target, dead] = [freshTopic("s"), freshTopic("t"), freshTopic("d")];
    const route = { name: "r", to: target, deadLetterTopic: dead };
    expect(
      (await put(source, { [source]: ["publish"], [target]: ["publish"], [dead]: ["publish"] }, [route]))
        .status,
    ).toBe(403);
    const noTarget = await put(source, { [source]: ["admin"], [dead]: ["publish"] }, [route]);
    expect((await expectProblem(noTarget, 403, "forbidden")).detail).toContain(`routes[0].to "${target}"`);
    const noDead = await put(source, { [source]: ["admin"], [target]: ["publish"] }, [route]);
    expect((await expectProblem(noDead, 403, "forbidden")).detail).toContain(
      `routes[0].deadLetterTopic "${dead}"`,
    );
    expect(await topicExists(source)).toBe(false);
    expect(
      (await put(source, { [source]: ["admin"], [target]: ["publish"], [dead]: ["publish"] }, [route]))
        .status,
    ).toBe(201);
  });
});
