import { createHash } from "node:crypto";

/** A message attribute as SQS carries it: a data type and a string or binary value. */
export interface SqsAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * `MD5OfMessageBody`: the hex MD5 of the body's UTF-8 bytes. The SDK checks it against the body
 * it sent or received, and fails the call when they differ.
 *
 * @example
 * md5OfBody("hello"); // "5d41402abc4b2a76b9719d911017c592"
 */
export function md5OfBody(body: string): string {
  return createHash("md5").update(encoder.encode(body)).digest("hex");
}

/**
 * `MD5OfMessageAttributes`, as SQS computes it: for each attribute in name order, its name and
 * data type (each a 4-byte big-endian length and its UTF-8 bytes), a transport byte (1 for a
 * string value, 2 for a binary one), then the value, length-prefixed the same way.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
 *
 * @example
 * md5OfAttributes({ color: { DataType: "String", StringValue: "blue" } });
 */
export function md5OfAttributes(attributes: Record<string, SqsAttribute>): string {
  const hash = createHash("md5");
  const field = (bytes: Uint8Array) => {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, bytes.byteLength);
    hash.update(length);
    hash.update(bytes);
  };
  // SQS orders names as Java strings compare: by UTF-16 code units, as Array.prototype.sort does.
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name] as SqsAttribute;
    field(encoder.encode(name));
    field(encoder.encode(attribute.DataType));
    if (attribute.BinaryValue !== undefined) {
      hash.update(Uint8Array.of(2));
      field(attribute.BinaryValue);
    } else {
      hash.update(Uint8Array.of(1));
      field(encoder.encode(attribute.StringValue ?? ""));
    }
  }
  return hash.digest("hex");
}
