import { WorkerEntrypoint } from "cloudflare:workers";
import * as z from "zod";
import type {
  BrokerRpc,
  Duration,
  PublishMessage,
  PublishOptions,
  PullOptions,
  ReadOptions,
  RpcPullResult,
  RpcReadResult,
  SettleOptions,
} from "../protocol/broker-rpc";
import type { ErrorCode, Result } from "../protocol/errors";
import { duration, integer, parseInput } from "../protocol/fields";
import { batchSchema } from "../protocol/http";
import { ackSchema, extendSchema, nackSchema, pullSchema } from "../protocol/http-consumers";
import { LIMITS } from "../protocol/limits";
import { toBase64 } from "../protocol/message";
import { isValidName } from "../protocol/names";
import type { PublishReceipt, SubscriptionInfo, TopicInfo } from "../protocol/topic-rpc";
import { callTopic } from "./topic-call";

const readSchema = z.strictObject({
  after: integer(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: integer(1, LIMITS.readLimit).default(100),
  wait: duration(0, LIMITS.readWaitMs).default(0),
});

/** A refusal over RPC: an `Error` (RPC keeps only its message) reading `<code>: <detail>`. */
function refuse(code: ErrorCode, detail: string): never {
  throw new Error(`${code}: ${detail}`);
}

function value<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  return refuse(result.code, result.detail);
}

function name(text: string, what: "topic" | "subscription"): string {
  if (typeof text === "string" && isValidName(text)) return text;
  return refuse("invalid_name", `${JSON.stringify(text)} is not a valid ${what} name`);
}

/** A batch entry as the HTTP batch takes it: bytes travel as `dataBase64`. */
function entry(message: PublishMessage): Record<string, unknown> {
  const { bytes, ...rest } = message;
  if (bytes === undefined) return rest;
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return { ...rest, dataBase64: toBase64(view) };
}

/** `undefined` fields left out, as the strict schemas of the HTTP API expect. */
const defined = (fields: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));

/**
 * The broker for other Workers, over a service binding: publish, read and consume with the
 * HTTP API's rules and answers, without HTTP. Bind it with
 * `services = [{ binding = "BROKER", service = "edge-broker", entrypoint = "Broker" }]`.
 * A service binding is granted in the binding Worker's own config, so the entrypoint trusts its
 * callers as the admin key is trusted: no token, no rate limit.
 *
 * @example
 * const { seq } = await env.BROKER.publish("orders", { id: 42 }, { idempotencyKey: "order-42" });
 * const { messages, epoch } = await env.BROKER.pull("orders", "billing", { max: 10 });
 * await env.BROKER.ack("orders", "billing", messages.map((m) => m.seq), { epoch });
 */
export class Broker extends WorkerEntrypoint<Env> implements BrokerRpc {
  async publish(topic: string, data: unknown, options: PublishOptions = {}): Promise<PublishReceipt> {
    const message: PublishMessage =
      data instanceof Uint8Array || data instanceof ArrayBuffer
        ? { ...options, bytes: data }
        : { ...options, data };
    const [receipt] = await this.publishBatch(topic, [message]);
    return receipt as PublishReceipt;
  }

  async publishBatch(topic: string, messages: PublishMessage[]): Promise<PublishReceipt[]> {
    const checked = name(topic, "topic");
    const entries = Array.isArray(messages) ? messages.map(entry) : messages;
    const { messages: inputs } = value(parseInput(batchSchema, { messages: entries }, "messages"));
    const keyed = inputs.every((m) => m.idempotencyKey !== undefined);
    return value(await callTopic(this.env, checked, (t) => t.publish(inputs), { idempotent: keyed }));
  }

  // `data` is a parsed JSON body or a text body (encodeBody): the JSON value the RPC type says.
  async read(topic: string, options: ReadOptions = {}): Promise<RpcReadResult> {
    const checked = name(topic, "topic");
    const parsed = value(parseInput(readSchema, defined({ ...options }), "options"));
    const read = parsed.after === undefined ? { limit: parsed.limit, wait: parsed.wait } : parsed;
    return value(await callTopic(this.env, checked, (t) => t.read(read))) as RpcReadResult;
  }

  async pull(topic: string, subscription: string, options: PullOptions = {}): Promise<RpcPullResult> {
    const [t, s] = [name(topic, "topic"), name(subscription, "subscription")];
    const parsed = value(parseInput(pullSchema, defined({ ...options }), "options"));
    const pulled = await callTopic(this.env, t, (stub) => stub.pull(s, parsed), { idempotent: false });
    return value(pulled) as RpcPullResult;
  }

  async ack(topic: string, subscription: string, seqs: number[], options: SettleOptions = {}) {
    const [t, s] = [name(topic, "topic"), name(subscription, "subscription")];
    const input = value(parseInput(ackSchema, defined({ seqs, ...options }), "options"));
    return value(await callTopic(this.env, t, (stub) => stub.ack(s, input)));
  }

  async nack(
    topic: string,
    subscription: string,
    seqs: number[],
    options: SettleOptions & { delay?: Duration } = {},
  ) {
    const [t, s] = [name(topic, "topic"), name(subscription, "subscription")];
    const input = value(parseInput(nackSchema, defined({ seqs, ...options }), "options"));
    return value(await callTopic(this.env, t, (stub) => stub.nack(s, input)));
  }

  async extend(
    topic: string,
    subscription: string,
    seqs: number[],
    options: SettleOptions & { ackTimeout?: Duration } = {},
  ) {
    const [t, s] = [name(topic, "topic"), name(subscription, "subscription")];
    const input = value(parseInput(extendSchema, defined({ seqs, ...options }), "options"));
    return value(await callTopic(this.env, t, (stub) => stub.extend(s, input)));
  }

  async topicInfo(topic: string): Promise<TopicInfo> {
    const checked = name(topic, "topic");
    return value(await callTopic(this.env, checked, (t) => t.info()));
  }

  async subscriptionInfo(topic: string, subscription: string): Promise<SubscriptionInfo> {
    const [t, s] = [name(topic, "topic"), name(subscription, "subscription")];
    return value(await callTopic(this.env, t, (stub) => stub.getSubscription(s)));
  }
}
