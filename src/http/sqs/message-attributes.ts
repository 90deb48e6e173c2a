import { reservedPrefixOf } from "../../protocol/attributes";
import { LIMITS } from "../../protocol/limits";
import { DEDUPLICATION_ATTRIBUTE } from "../../protocol/sqs-queue";
import { SqsError } from "./errors";
import type { SqsAttribute } from "./md5";

/**
 * The attribute that keeps the SQS data types of a message's attributes that are not plain
 * `String` (`{"price": "Number", "photo": "Binary"}`), so a receive answers each with its type
 * and the MD5 SQS clients compute. It is the broker's (`broker.` is refused from publishers).
 */
export const TYPES_ATTRIBUTE = "broker.sqs.types";

/** Most attributes on one message, as SQS allows. */
const MAX_ATTRIBUTES = 10;
const NAME_RE = /^[A-Za-z0-9_.-]{1,256}$/;
const TYPE_RE = /^(String|Number|Binary)(\.[^\s]{1,250})?$/;
const NUMBER_RE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

const invalid = (message: string) => new SqsError("InvalidParameterValue", message);

/** What `SendMessage` carries as `MessageAttributes`, unchecked. */
type RawAttributes = Record<string, unknown>;

/** Message attributes as the topic stores them, and their size as SQS counts it (bytes). */
export interface StoredAttributes {
  attributes: Record<string, string>;
  /** The same attributes as SQS sees them, for the MD5 of the answer. */
  sqs: Record<string, SqsAttribute>;
  size: number;
}

const utf8 = (text: string) => new TextEncoder().encode(text).byteLength;

/**
 * Checks `MessageAttributes` as SQS does (at most 10; names of `A–Z a–z 0–9 _ - .`, not starting
 * with `AWS.` or `Amazon.` nor the broker's prefixes; types `String`, `Number` or `Binary` with an
 * optional `.custom` part; a value of that type) and turns them into topic attributes: each
 * value as a string (binary ones in base64), with {@link TYPES_ATTRIBUTE} for the types.
 *
 * @throws SqsError `InvalidParameterValue`, naming the attribute.
 * @example
 * toTopicAttributes({ price: { DataType: "Number", StringValue: "9.5" } });
 * // { attributes: { price: "9.5", "broker.sqs.types": '{"price":"Number"}' }, … }
 */
export function toTopicAttributes(input: unknown): StoredAttributes {
  const stored: StoredAttributes = { attributes: {}, sqs: {}, size: 0 };
  if (input === undefined || input === null) return stored;
  if (typeof input !== "object" || Array.isArray(input)) throw invalid("MessageAttributes must be a map");
  const entries = Object.entries(input as RawAttributes);
  if (entries.length > MAX_ATTRIBUTES) {
    throw invalid(`Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`);
  }
  const types: Record<string, string> = {};
  for (const [name, value] of entries) {
    checkName(name);
    const attribute = checkValue(name, value);
    const text =
      attribute.StringValue ?? (attribute.BinaryValue === undefined ? "" : toBase64(attribute.BinaryValue));
    stored.attributes[name] = text;
    stored.sqs[name] = attribute;
    if (attribute.DataType !== "String") types[name] = attribute.DataType;
    const valueBytes = attribute.BinaryValue?.byteLength ?? utf8(text);
    stored.size += utf8(name) + utf8(attribute.DataType) + valueBytes;
  }
  if (Object.keys(types).length > 0) stored.attributes[TYPES_ATTRIBUTE] = JSON.stringify(types);
  const bytes = Object.entries(stored.attributes).reduce((n, [k, v]) => n + utf8(k) + utf8(v), 0);
  if (bytes > LIMITS.attributeBytes) {
    throw invalid(`message attributes take at most ${LIMITS.attributeBytes} bytes on this broker`);
  }
  return stored;
}

function checkName(name: string): void {
  const folded = name.toLowerCase();
  if (
    !NAME_RE.test(name) ||
    name.startsWith(".") ||
    name.endsWith(".") ||
    name.includes("..") ||
    folded.startsWith("aws.") ||
    folded.startsWith("amazon.")
  ) {
    throw invalid(`Message attribute name '${name.slice(0, 256)}' is invalid.`);
  }
  const reserved = reservedPrefixOf(name);
  if (reserved !== null) {
    throw invalid(
      `Message attribute name '${name}' is invalid: names starting with ${reserved} are the broker's.`,
    );
  }
}

function checkValue(name: string, value: unknown): SqsAttribute {
  if (typeof value !== "object" || value === null)
    throw invalid(`Message attribute '${name}' must be a map.`);
  const { DataType, StringValue, BinaryValue, StringListValues, BinaryListValues } = value as Record<
    string,
    unknown
  >;
  if (typeof DataType !== "string" || !TYPE_RE.test(DataType)) {
    throw invalid(`The message attribute '${name}' has an invalid message attribute type.`);
  }
  if (StringListValues !== undefined || BinaryListValues !== undefined) {
    throw invalid(`Message attribute '${name}': list values are not supported.`);
  }
  if (DataType.startsWith("Binary")) {
    if (
      StringValue !== undefined ||
      typeof BinaryValue !== "string" ||
      BinaryValue === "" ||
      !BASE64_RE.test(BinaryValue)
    ) {
      throw invalid(`Message attribute '${name}' must contain a non-empty value of type 'Binary'.`);
    }
    return { DataType, BinaryValue: fromBase64(BinaryValue) };
  }
  if (BinaryValue !== undefined || typeof StringValue !== "string" || StringValue === "") {
    throw invalid(
      `Message attribute '${name}' must contain a non-empty value of type '${DataType.split(".")[0]}'.`,
    );
  }
  if (DataType.startsWith("Number") && !NUMBER_RE.test(StringValue)) {
    throw invalid(`Can't cast the value of message attribute '${name}' to a number.`);
  }
  return { DataType, StringValue };
}

/**
 * A stored message's attributes as SQS returns them, limited to the names asked for (`All` or
 * `.*` for every one, `prefix.*` for a prefix, or exact names): the broker's type record and a
 * FIFO message's deduplication id are not among them, and each takes its recorded type (`String` when none is recorded).
 *
 * @example
 * fromTopicAttributes({ price: "9.5", "broker.sqs.types": '{"price":"Number"}' }, ["All"]);
 * // { price: { DataType: "Number", StringValue: "9.5" } }
 */
export function fromTopicAttributes(
  attributes: Record<string, string>,
  names: string[],
): Record<string, SqsAttribute> {
  const wanted = nameMatcher(names);
  let types: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(attributes[TYPES_ATTRIBUTE] ?? "{}");
    if (typeof parsed === "object" && parsed !== null) types = parsed;
  } catch {
    // A record the broker did not write (none can be published) is no record.
  }
  const found: Record<string, SqsAttribute> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (name === TYPES_ATTRIBUTE || name === DEDUPLICATION_ATTRIBUTE || !wanted(name)) continue;
    const type = typeof types[name] === "string" ? (types[name] as string) : "String";
    found[name] = type.startsWith("Binary")
      ? { DataType: type, BinaryValue: fromBase64(value) }
      : { DataType: type, StringValue: value };
  }
  return found;
}

function nameMatcher(names: string[]): (name: string) => boolean {
  if (names.some((n) => n === "All" || n === ".*")) return () => true;
  const exact = new Set(names.filter((n) => !n.endsWith(".*")));
  const prefixes = names.filter((n) => n.endsWith(".*")).map((n) => n.slice(0, -1));
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

/** Base64 of bytes (the JSON protocol's encoding of a blob). */
export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

/** Bytes of base64 text; text that is not base64 reads as its UTF-8 bytes. */
export function fromBase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  } catch {
    return new TextEncoder().encode(text);
  }
}
