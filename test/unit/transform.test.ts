import { describe, expect, it } from "vitest";
import {
  applyTransform,
  checkTransform,
  TRANSFORM_LIMITS,
  type TransformInput,
} from "../../src/topic/transform";

const decoder = new TextDecoder();
const order: TransformInput = {
  data: { id: 42, total: 150, items: [{ sku: "BK-1", qty: 2 }], customer: { country: "FR" } },
  attributes: { region: "eu" },
  key: "customer-7",
  topic: "orders",
  seq: 9,
  publishedAt: 1_700_000_000_000,
  contentType: "application/json",
};

async function run(expression: string, input = order) {
  const result = await applyTransform(expression, input);
  if (!result.ok) return { error: result.detail };
  const { body, ...rest } = result.value;
  return { data: JSON.parse(decoder.decode(body)), ...rest };
}

describe("route transforms", () => {
  it("reshape the body and may set attributes and the key", async () => {
    expect(await run('{"data": {"order": data.id, "skus": data.items.sku}}')).toEqual({
      data: { order: 42, skus: "BK-1" },
    });
    expect(
      await run(
        '{"data": data, "attributes": $merge([attributes, {"priority": data.total > 100 ? "high" : "low"}]), "key": data.customer.country}',
      ),
    ).toMatchObject({ attributes: { region: "eu", priority: "high" }, key: "FR" });
    expect(await run('{"data": {"from": topic & "#" & $string(seq)}, "key": null}')).toEqual({
      data: { from: "orders#9" },
      key: null,
    });
  });

  it("are checked when a route is put: syntax, regular expressions and $eval are refused", () => {
    expect(checkTransform('{"data": data}')).toBeNull();
    expect(checkTransform('{"data": data.')).toMatch(/not a valid JSONata expression/);
    expect(checkTransform('{"data": $match(data.sku, /^BK/)}')).toMatch(/regular expressions/);
    expect(checkTransform('{"data": $eval("1+1")}')).toBe("must not use $eval");
    expect(checkTransform("x".repeat(TRANSFORM_LIMITS.expressionLength + 1))).toMatch(/at most/);
  });

  it("fail the message, with a reason, when the value is not a message", async () => {
    expect(await run("data.id")).toMatchObject({ error: expect.stringMatching(/must be an object/) });
    expect(await run('{"data": data.missing}')).toMatchObject({ error: expect.stringMatching(/no "data"/) });
    expect(await run('{"data": 1, "attributes": {"n": 5}}')).toMatchObject({
      error: expect.stringMatching(/not a string/),
    });
    expect(await run('{"data": 1, "attributes": {"broker.hops": "0"}}')).toMatchObject({
      error: expect.stringMatching(/the broker's/),
    });
    expect(await run('{"data": 1, "extra": 2}')).toMatchObject({
      error: expect.stringMatching(/unknown field "extra"/),
    });
    expect(await run('{"data": $error("no such customer")}')).toMatchObject({
      error: expect.stringMatching(/no such customer/),
    });
  });

  it("stop at their step and depth budget instead of running on", async () => {
    const endless = '( $f := function($n) { $f($n + 1) }; {"data": $f(0)} )';
    expect(await run(endless)).toMatchObject({ error: expect.stringMatching(/D1011|stack|steps/) });
    const busy = '{"data": $reduce([1..90000], function($a, $b) { $a + $b })}';
    expect(await run(busy)).toMatchObject({ error: expect.stringMatching(/steps/) });
    // Each budget is per evaluation: a later message starts afresh.
    expect(await run('{"data": $sum([1..1000])}')).toEqual({ data: 500500 });
  });

  it("refuse to build values larger than a message in one step", async () => {
    expect(await run('{"data": $pad("", 2000000000)}')).toMatchObject({
      error: expect.stringMatching(/\$pad/),
    });
    const doubling = '( $s := $pad("x", 500000); $a := [$s, $s, $s, $s]; {"data": $join($a)} )';
    expect(await run(doubling)).toMatchObject({ error: expect.stringMatching(/\$join/) });
    const blowup = '( $s := $pad("x", 900000); {"data": $string([$s, $s])} )';
    expect(await run(blowup)).toMatchObject({ error: expect.stringMatching(/\$string/) });
    const replace = '( $s := $pad("a", 100000, "a"); {"data": $replace($s, "a", $pad("b", 100))} )';
    expect(await run(replace)).toMatchObject({ error: expect.stringMatching(/\$replace/) });
    const output = '( $s := $pad("x", 600000); {"data": [$s, $s]} )';
    expect(await run(output)).toMatchObject({ error: expect.stringMatching(/larger than/) });
    expect(await run('{"data": [1..200000]}')).toMatchObject({ error: expect.stringMatching(/D2015|items/) });
  });
});
