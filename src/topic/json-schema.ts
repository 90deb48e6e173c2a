import { type OutputUnit, Validator } from "@cfworker/json-schema";
import type { Violation } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import { isJsonType, jsonDepth } from "../protocol/message";
import type { JsonSchema, PublishInput } from "../protocol/topic-rpc";
import { objectsIn } from "./json-walk";

/** Most reasons listed for one message, and for a whole batch. */
const MAX_REASONS = { message: 16, batch: 64 } as const;

/** JSON Schema's newest draft, the one the broker speaks. */
const DRAFT = "2020-12";

const validators = new WeakMap<object, Validator>();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The validator of a topic's schema, compiled once per config object. The library marks up the
 * schema it is given (resolved `$ref`s), so it gets a copy and the config stays as it was put.
 */
function validatorOf(schema: object): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = new Validator(structuredClone(schema) as never, DRAFT, false);
    validators.set(schema, validator);
  }
  return validator;
}

/**
 * Why a schema cannot be a topic's, or `null` when it can: it must be a JSON Schema 2020-12
 * document (an object or a boolean) whose every `$ref` resolves within it (nothing is fetched).
 *
 * @example
 * checkSchema({ type: "object", required: ["id"] });          // null
 * checkSchema({ $ref: "https://example.com/order.json" });     // '$ref "https://example.com/order.json" does not …'
 */
export function checkSchema(schema: unknown): string | null {
  if (typeof schema === "boolean") return null;
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return "must be a JSON Schema: an object, or true or false";
  }
  const declared = (schema as { $schema?: unknown }).$schema;
  if (declared !== undefined && declared !== "https://json-schema.org/draft/2020-12/schema") {
    return `must be JSON Schema 2020-12 ($schema "https://json-schema.org/draft/2020-12/schema", or none), not ${JSON.stringify(declared).slice(0, 80)}`;
  }
  let validator: Validator;
  const copy = structuredClone(schema);
  try {
    validator = new Validator(copy as never, DRAFT, false);
  } catch (error) {
    return `is not a usable schema: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
  }
  const lookup = (validator as unknown as { lookup: Record<string, unknown> }).lookup;
  // The library resolved each `$ref` in place (`__absolute_ref__`) on our copy.
  for (const ref of references(copy)) {
    if (lookup[ref.absolute] === undefined && !resolvesAsPointer(ref.absolute, lookup)) {
      return `has a $ref "${ref.written.slice(0, 200)}" that does not resolve within the schema (schemas are not fetched)`;
    }
  }
  return null;
}

/**
 * Why the messages of a publish do not fit the topic's schema: every reason, each with the entry
 * of the batch it is about (`index`, when there are several) and where in its body (a JSON
 * Pointer). Empty when they all fit. A body that is not JSON does not fit a topic with a schema.
 */
export function violations(schema: JsonSchema, messages: readonly PublishInput[]): Violation[] {
  const found: Violation[] = [];
  for (const [index, message] of messages.entries()) {
    const reasons = reasonsFor(schema, message);
    for (const reason of reasons.slice(0, MAX_REASONS.message)) {
      found.push(messages.length > 1 ? { index, ...reason } : reason);
      if (found.length >= MAX_REASONS.batch) return found;
    }
  }
  return found;
}

function reasonsFor(schema: JsonSchema, message: PublishInput): { path: string; reason: string }[] {
  if (!isJsonType(message.contentType)) {
    return [
      { path: "", reason: `the topic has a schema, so the body must be JSON, not ${message.contentType}` },
    ];
  }
  let data: unknown;
  try {
    const text = decoder.decode(message.body);
    if (jsonDepth(text) > LIMITS.jsonDepth) return [{ path: "", reason: "the body nests too deeply" }];
    data = JSON.parse(text);
  } catch {
    return [{ path: "", reason: "the body is not valid JSON" }];
  }
  if (schema === true) return [];
  if (schema === false) return [{ path: "", reason: "the topic's schema is false: no message fits it" }];
  let result: ReturnType<Validator["validate"]>;
  try {
    result = validatorOf(schema).validate(data);
  } catch (error) {
    // Refs are checked when the schema is put; this guards against what that check missed.
    return [
      {
        path: "",
        reason: `the schema could not be applied: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
      },
    ];
  }
  if (result.valid) return [];
  return specific(result.errors).map((unit) => ({
    path: unit.instanceLocation.replace(/^#/, ""),
    reason: unit.error,
  }));
}

/**
 * The reasons worth reading: the validator also reports, for each failing part, every keyword
 * above it ("Property "id" does not match schema."), which says nothing the deeper one does not.
 */
function specific(units: OutputUnit[]): OutputUnit[] {
  const deeper = (unit: OutputUnit) =>
    units.some((other) => other !== unit && other.keywordLocation.startsWith(`${unit.keywordLocation}/`));
  const kept = units.filter((unit) => !deeper(unit));
  // `false` subschemas say only "False boolean schema."; their parent keyword says which property.
  const meaningful = kept.filter((unit) => unit.keyword !== "false");
  return meaningful.length > 0 ? meaningful : kept;
}

/** Every `$ref` below a dereferenced schema: as written, and as the library resolved it. */
function references(schema: unknown): { written: string; absolute: string }[] {
  const found: { written: string; absolute: string }[] = [];
  for (const record of objectsIn(schema, (key) => key === "const" || key === "enum")) {
    if (typeof record.$ref === "string") {
      const absolute = typeof record.__absolute_ref__ === "string" ? record.__absolute_ref__ : record.$ref;
      found.push({ written: record.$ref, absolute });
    }
  }
  return found;
}

/** A `#/…` pointer into a known schema resolves even when the library keeps no entry for it. */
function resolvesAsPointer(uri: string, lookup: Record<string, unknown>): boolean {
  const hash = uri.indexOf("#");
  if (hash < 0) return false;
  const base = lookup[uri.slice(0, hash)];
  if (base === undefined) return false;
  let node: unknown = base;
  for (const raw of uri
    .slice(hash + 1)
    .split("/")
    .slice(1)) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}
