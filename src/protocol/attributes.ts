/**
 * Message attributes: the schema every publish path validates them with, and the name prefixes
 * the broker keeps for its own attributes. One list, imported by the worker (which refuses them
 * from publishers) and by the topic's object (which sets them on the copies it makes).
 */
import * as z from "zod";
import { LIMITS } from "./limits";

/**
 * Attribute-name prefixes only the broker may set: `dead-letter.` (the `dead-letter.topic`,
 * `dead-letter.subscription` and `dead-letter.seq` of a dead-letter copy, which say where it came
 * from) and `broker.` (`broker.hops`, and `broker.route.*` on a routed copy). A publish that sets one is
 * refused, so a consumer can trust them; a subscription filter may still match on them.
 */
export const RESERVED_ATTRIBUTE_PREFIXES = ["dead-letter.", "broker."] as const;

/**
 * The broker's attributes on a copy it makes of a message (a dead-letter copy; a routed message):
 * where it came from, and how many copies deep it is, so a loop of copies between topics stops.
 */
export const BROKER_ATTRIBUTES = {
  deadLetterTopic: "dead-letter.topic",
  deadLetterSubscription: "dead-letter.subscription",
  deadLetterSeq: "dead-letter.seq",
  /** On a message a route gave up on: the route, and why. */
  deadLetterRoute: "dead-letter.route",
  deadLetterReason: "dead-letter.reason",
  /** The epoch of the topic the copy came from, so a redrive never gives it to a re-created topic. */
  deadLetterEpoch: "dead-letter.epoch",
  hops: "broker.hops",
  /** On a routed copy: the topic, route and seq it was forwarded from. */
  routeTopic: "broker.route.topic",
  routeName: "broker.route.name",
  routeSeq: "broker.route.seq",
} as const;

/**
 * How many copies deep a message may go: a copy of a copy … past this many is not made (it is
 * dropped and counted), so a loop between topics ends even where a configuration check missed it.
 */
export const MAX_HOPS = 8;

/** The hop count a message's attributes carry (0 for an original). */
export function hopsOf(attributes: Record<string, string>): number {
  const n = Number(attributes[BROKER_ATTRIBUTES.hops]);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/**
 * The reserved prefix an attribute name starts with, in any ASCII letter case, or `null`. Case
 * is folded because a raw publish's header names arrive lower-cased whatever was sent, and a
 * `Dead-Letter.Topic` next to the broker's `dead-letter.topic` would mislead all the same.
 *
 * @example
 * reservedPrefixOf("Dead-Letter.topic"); // "dead-letter."
 * reservedPrefixOf("dead-letters");      // null
 */
export function reservedPrefixOf(name: string): string | null {
  const folded = name.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
  return RESERVED_ATTRIBUTE_PREFIXES.find((prefix) => folded.startsWith(prefix)) ?? null;
}

const utf8 = new TextEncoder();
const byteLength = (text: string): number => utf8.encode(text).byteLength;

/**
 * A map of attributes as a subscription's filter takes it: string to string, within the
 * limits on count and size. An entry named `__proto__` is refused before parsing: copied into a
 * plain object it would set the object's prototype instead of an attribute and vanish.
 */
export const filterAttributesSchema = z
  .unknown()
  .refine((value) => !(typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__")), {
    message: 'must not have an entry named "__proto__"',
  })
  .pipe(z.record(z.string(), z.string()))
  .superRefine((attributes, ctx) => {
    const entries = Object.entries(attributes);
    if (entries.some(([key]) => key.length === 0)) {
      ctx.addIssue({ code: "custom", message: "must not have an empty name" });
    } else if (entries.length > LIMITS.attributes) {
      ctx.addIssue({ code: "custom", message: `must have at most ${LIMITS.attributes} entries` });
    } else if (entries.reduce((n, [k, v]) => n + byteLength(k) + byteLength(v), 0) > LIMITS.attributeBytes) {
      ctx.addIssue({
        code: "custom",
        message: `must total at most ${LIMITS.attributeBytes} bytes of names and values`,
      });
    }
  });

/**
 * The attributes of a published message (`X-Attr-*` headers, a batch entry, a `publish` frame):
 * a filter's map, less the names under {@link RESERVED_ATTRIBUTE_PREFIXES}.
 *
 * @example
 * parseInput(attributesSchema, { region: "eu" }); // ok({ region: "eu" })
 * parseInput(attributesSchema, { "dead-letter.topic": "orders" }, "attributes");
 * // fail("invalid_request", 'attributes must not set "dead-letter.topic": attribute names starting with "dead-letter." are the broker\'s')
 */
export const attributesSchema = filterAttributesSchema
  .superRefine((attributes, ctx) => {
    for (const name of Object.keys(attributes)) {
      const prefix = reservedPrefixOf(name);
      if (prefix === null) continue;
      ctx.addIssue({
        code: "custom",
        message: `must not set "${name}": attribute names starting with "${prefix}" are the broker's`,
      });
      return;
    }
  })
  .meta({
    description: `string to string, at most ${LIMITS.attributes} entries and ${LIMITS.attributeBytes} bytes; names starting with "dead-letter." or "broker." are the broker's`,
    type: "object",
    additionalProperties: { type: "string" },
  });
