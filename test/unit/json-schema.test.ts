import { describe, expect, it } from "vitest";
import type { PublishInput } from "../../src/protocol/topic-rpc";
import { checkSchema, violations } from "../../src/topic/json-schema";

const utf8 = new TextEncoder();
const json = (data: unknown): PublishInput => ({
  body: utf8.encode(JSON.stringify(data)),
  contentType: "application/json",
  attributes: {},
});

const ORDER = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $defs: { item: { type: "object", required: ["sku"], properties: { sku: { type: "string" } } } },
  type: "object",
  required: ["id", "total"],
  properties: {
    id: { type: "integer" },
    total: { type: "number", minimum: 0 },
    items: { type: "array", items: { $ref: "#/$defs/item" } },
  },
  additionalProperties: false,
};

describe("topic schemas", () => {
  it("accept 2020-12 schemas whose refs resolve within them, and refuse the rest with a reason", () => {
    expect(checkSchema(ORDER)).toBeNull();
    expect(checkSchema(true)).toBeNull();
    expect(checkSchema({ $ref: "https://example.com/order.json" })).toMatch(
      /does not resolve within the schema/,
    );
    expect(checkSchema({ $ref: "#/$defs/missing" })).toMatch(/does not resolve/);
    expect(checkSchema([1])).toMatch(/must be a JSON Schema/);
    expect(checkSchema({ $schema: "http://json-schema.org/draft-07/schema#" })).toMatch(/2020-12/);
  });

  it("list each reason with its JSON Pointer, without the summaries above it", () => {
    const found = violations(ORDER, [json({ id: "7", total: -1, items: [{}], coupon: "x" })]);
    expect(found).toEqual([
      { path: "/id", reason: 'Instance type "string" is invalid. Expected "integer".' },
      { path: "/total", reason: "-1 is less than 0." },
      { path: "/items/0", reason: 'Instance does not have required property "sku".' },
      { path: "", reason: 'Property "coupon" does not match additional properties schema.' },
    ]);
  });

  it("name the batch entry of each reason, and pass what fits", () => {
    expect(violations(ORDER, [json({ id: 1, total: 2 })])).toEqual([]);
    const found = violations(ORDER, [json({ id: 1, total: 2 }), json({ total: 2 })]);
    expect(found).toEqual([{ index: 1, path: "", reason: 'Instance does not have required property "id".' }]);
  });

  it("refuse bodies that are not JSON on a topic with a schema", () => {
    const text: PublishInput = { body: utf8.encode("hi"), contentType: "text/plain", attributes: {} };
    expect(violations(ORDER, [text])).toEqual([
      { path: "", reason: "the topic has a schema, so the body must be JSON, not text/plain" },
    ]);
    expect(violations(true, [text])).toHaveLength(1);
    expect(violations(false, [json(1)])).toHaveLength(1);
  });
});
