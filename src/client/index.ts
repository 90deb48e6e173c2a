/**
 * The TypeScript client of edge-broker: publish over HTTP, consume subscriptions and
 * tail topics over WebSocket, with reconnects, credit and batched acks handled.
 * Web standards only (fetch, WebSocket, EventTarget), no runtime dependencies.
 *
 * @example
 * import { Broker } from "edge-broker/client";
 *
 * const broker = new Broker({ url: "https://broker.example.com", token: () => fetchToken() });
 * await broker.publish("orders", { id: 1 });
 * for await (const message of broker.subscribe("orders", "billing")) message.ack();
 */
export type { ErrorCode } from "../protocol/errors.js";
export type { FilterPattern } from "../protocol/filter-pattern.js";
export type { ReplyMessage, WireMessage } from "../protocol/message.js";
export { CLOSE_CODES, type Duration, SUBPROTOCOL } from "../protocol/ws-frames.js";
export type { BatchingOptions } from "./batcher.js";
export { Broker, type BrokerOptions, type RequestOptions } from "./client.js";
export type { ConnectionOptions } from "./connection.js";
export { BrokerError, type BrokerErrorCode } from "./errors.js";
export { type LiveOptions, LiveTail } from "./live.js";
export { Message, Payload, ReceivedMessage, Reply, type ReplyOptions } from "./message.js";
export type { BatchMessage, JsonValue, MessageData, PublishOptions, PublishReceipt } from "./publish.js";
export type { Clock, ReconnectOptions } from "./reconnect.js";
export { BrokerErrorEvent, type ConnectionStatus, StatusEvent } from "./status.js";
export { type SubscribeOptions, Subscription, type SubscriptionSettings } from "./subscription.js";
export type { SocketTokenPlacement, TokenSource, TransportOptions } from "./transport.js";
