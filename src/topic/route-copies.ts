import { BROKER_ATTRIBUTES, hopsOf, MAX_HOPS, reservedPrefixOf } from "../protocol/attributes";
import { encodeBody } from "../protocol/message";
import type { PublishInput, RouteConfig } from "../protocol/topic-rpc";
import { compileFilter } from "./filter";
import type { TopicMeta } from "./log";
import type { MessageRow } from "./message-rows";
import { applyTransform, type TransformInput } from "./transform";

/** What a route makes of one message: a copy to forward, nothing (and why), or a failure. */
export type Prepared =
  | { kind: "copy"; seq: number; copy: PublishInput }
  | { kind: "skip"; seq: number; reason: "filtered" | "looped" }
  | { kind: "error"; seq: number; code: string; detail: string };

const attributesOf = (row: MessageRow): Record<string, string> =>
  row.attributes ? JSON.parse(row.attributes) : {};

/** The broker's own attributes of a message (`dead-letter.*`, `broker.*`): a copy keeps them. */
function reserved(attributes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => reservedPrefixOf(name) !== null));
}

/**
 * The copy a route forwards for one message, or why it forwards none: the message is a loop
 * (`MAX_HOPS` copies deep already), its filter passes over it, or its transform fails. A copy
 * carries the idempotency key `route/{topic}/{epoch}/{route}/{seq}` (so a copy sent again after a
 * crash is stored once), `broker.route.*` (where it came from), `broker.hops` one deeper, and the
 * message's `replyTo` and `correlationId`, so a reply to a routed request finds its way back.
 */
export async function prepareCopy(
  meta: TopicMeta,
  route: RouteConfig,
  row: MessageRow,
  now: number,
): Promise<Prepared> {
  const seq = row.seq;
  const attributes = attributesOf(row);
  const hops = hopsOf(attributes) + 1;
  if (hops > MAX_HOPS) return { kind: "skip", seq, reason: "looped" };
  const filter = compileFilter(route.filter);
  if (filter && !filter.test(row)) return { kind: "skip", seq, reason: "filtered" };

  let body: Uint8Array = new Uint8Array(row.body);
  let contentType = row.content_type;
  let own = Object.fromEntries(
    Object.entries(attributes).filter(([name]) => reservedPrefixOf(name) === null),
  );
  let key: string | null = row.key;
  if (route.transform !== null) {
    const result = await applyTransform(route.transform, transformInput(meta.name, row, attributes));
    if (!result.ok) return { kind: "error", seq, code: "transform_failed", detail: result.detail };
    body = result.value.body;
    contentType = "application/json";
    if (result.value.attributes !== undefined) own = result.value.attributes;
    if (result.value.key !== undefined) key = result.value.key;
  }
  const copy: PublishInput = {
    body,
    contentType,
    attributes: {
      ...own,
      ...reserved(attributes),
      [BROKER_ATTRIBUTES.routeTopic]: meta.name,
      [BROKER_ATTRIBUTES.routeName]: route.name,
      [BROKER_ATTRIBUTES.routeSeq]: String(seq),
      [BROKER_ATTRIBUTES.hops]: String(hops),
    },
    idempotencyKey: `route/${meta.name}/${meta.epoch}/${route.name}/${seq}`,
  };
  if (key !== null) copy.key = key;
  // A delayed message stays delayed: the copy waits for what is left of it.
  if (row.deliver_at > now) copy.delay = row.deliver_at - now;
  if (row.reply_to !== null) copy.replyTo = row.reply_to;
  if (row.correlation_id !== null) copy.correlationId = row.correlation_id;
  return { kind: "copy", seq, copy };
}

/**
 * The copy of a message a route gave up on, for the route's dead-letter topic: the message as it
 * was published, with `dead-letter.topic`, `dead-letter.route`, `dead-letter.seq` and
 * `dead-letter.reason` (the last failure), one hop deeper, keyed so that it is stored once.
 */
export function deadLetterCopy(
  meta: TopicMeta,
  route: RouteConfig,
  row: MessageRow,
  reason: string,
): PublishInput {
  const attributes = attributesOf(row);
  const copy: PublishInput = {
    body: new Uint8Array(row.body),
    contentType: row.content_type,
    attributes: {
      ...attributes,
      [BROKER_ATTRIBUTES.deadLetterTopic]: meta.name,
      [BROKER_ATTRIBUTES.deadLetterRoute]: route.name,
      [BROKER_ATTRIBUTES.deadLetterSeq]: String(row.seq),
      [BROKER_ATTRIBUTES.deadLetterReason]: reason.slice(0, 512),
      [BROKER_ATTRIBUTES.hops]: String(hopsOf(attributes) + 1),
    },
    idempotencyKey: `route-dead-letter/${meta.name}/${meta.epoch}/${route.name}/${row.seq}`,
  };
  if (row.key !== null) copy.key = row.key;
  if (row.reply_to !== null) copy.replyTo = row.reply_to;
  if (row.correlation_id !== null) copy.correlationId = row.correlation_id;
  return copy;
}

/** The message a transform sees: as the wire shows it, with its topic and seq. */
function transformInput(topic: string, row: MessageRow, attributes: Record<string, string>): TransformInput {
  const input: TransformInput = {
    ...encodeBody(row.content_type, new Uint8Array(row.body)),
    attributes,
    topic,
    seq: row.seq,
    publishedAt: row.published_at,
    contentType: row.content_type,
  };
  if (row.key !== null) input.key = row.key;
  if (row.reply_to !== null) input.replyTo = row.reply_to;
  if (row.correlation_id !== null) input.correlationId = row.correlation_id;
  return input;
}
