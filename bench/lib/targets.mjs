/**
 * The systems under test, behind one shape: publish one message over HTTP, publish a batch,
 * open a live-tail socket, open a consumer socket, and read message indexes out of frames.
 *
 * Every message is 256 bytes of JSON, `{"i":<index>,"p":"xxx…"}`: the index ties a delivery
 * back to the moment its publish was scheduled.
 */
import { httpPool } from "./http-client.mjs";

export const MESSAGE_BYTES = 256;

/** The 256-byte body of message `i`. */
export function payload(i) {
  const prefix = `{"i":${i},"p":"`;
  return `${prefix}${"x".repeat(MESSAGE_BYTES - prefix.length - 2)}"}`;
}

const JSON_HEADERS = { "content-type": "application/json" };
const ok = (res) => ({ ok: res.status >= 200 && res.status < 300, error: res.error ?? `HTTP ${res.status}` });
const wsOrigin = (origin) => origin.replace(/^http/, "ws");

/** Matches each delivered message's seq and index in a broker frame without a full JSON parse. */
const BROKER_MESSAGE = /"seq":(\d+),[\s\S]*?"data":\{"i":(\d+)/g;

/** `[{seq, i}]` of the messages in a broker frame (none for `hello`, `ok`, `error`…). */
function brokerMessagesIn(frame) {
  if (!frame.startsWith('{"type":"message')) return [];
  const found = [];
  for (const match of frame.matchAll(BROKER_MESSAGE)) {
    found.push({ seq: Number(match[1]), i: Number(match[2]) });
  }
  return found;
}

/**
 * edge-broker on workerd.
 *
 * @param {string} origin
 * @param {number} connections most HTTP connections at once
 */
export function brokerTarget(origin, connections = 128) {
  const http = httpPool(origin, connections);
  return {
    name: "edge-broker",
    http,
    async publish(topic, i) {
      return ok(await http.request("POST", `/v1/topics/${topic}/messages`, payload(i), JSON_HEADERS));
    },
    /** Publishes messages `first` … `first + count - 1` in one atomic batch. */
    async publishBatch(topic, first, count) {
      const entries = Array.from({ length: count }, (_, k) => `{"data":${payload(first + k)}}`);
      const body = `{"messages":[${entries.join(",")}]}`;
      return ok(await http.request("POST", `/v1/topics/${topic}/batch`, body, JSON_HEADERS));
    },
    createTopic: (topic) => http.json("PUT", `/v1/topics/${topic}`, {}),
    createSubscription: (topic, sub) =>
      http.json("PUT", `/v1/topics/${topic}/subscriptions/${sub}`, { startAt: "latest" }),
    info: (topic) => http.json("GET", `/v1/topics/${topic}`),
    tailUrl: (topic) => `${wsOrigin(origin)}/v1/topics/${topic}/ws`,
    consumerUrl: (topic, sub) => `${wsOrigin(origin)}/v1/topics/${topic}/subscriptions/${sub}/ws`,
    protocols: ["edge-broker.v1"],
    /** The broker speaks first (`hello`): a socket is ready once that frame arrives. */
    readyOnFirstFrame: true,
    messagesIn: brokerMessagesIn,
    ackFrame: (seqs) => JSON.stringify({ type: "ack", seqs }),
    close: () => http.close(),
  };
}

/**
 * The peer: nginx with the nchan module, channels stored in Redis (bench/peer/). Same shape:
 * HTTP publish of one message, WebSocket subscribers. nchan has no batch publish and no acks.
 *
 * @param {string} origin
 */
export function peerTarget(origin, connections = 128) {
  const http = httpPool(origin, connections);
  return {
    name: "nchan+redis",
    http,
    async publish(topic, i) {
      return ok(await http.request("POST", `/pub/${topic}`, payload(i), JSON_HEADERS));
    },
    publishBatch: null,
    tailUrl: (topic) => `${wsOrigin(origin)}/sub/${topic}`,
    protocols: [],
    /** nchan says nothing when a subscriber connects. */
    readyOnFirstFrame: false,
    messagesIn(frame) {
      const match = /^\{"i":(\d+)/.exec(frame);
      return match ? [{ seq: null, i: Number(match[1]) }] : [];
    },
    close: () => http.close(),
  };
}

/**
 * The fan-out reference (bench/fixtures/ceiling-worker.js): a Durable Object that sends each
 * published body to every socket it holds at once, one frame per message, with no storage and no
 * per-socket state, in frames shaped like the broker's. Same runtime, same client: it shows what
 * sending alone costs in workerd.
 *
 * @param {string} origin the ceiling worker
 */
export function broadcastCeilingTarget(origin, connections = 16) {
  const http = httpPool(origin, connections);
  return {
    name: "naive broadcast DO",
    http,
    async publish(topic, i) {
      return ok(await http.request("POST", `/do/broadcast/${topic}`, payload(i), JSON_HEADERS));
    },
    tailUrl: (topic) => `${wsOrigin(origin)}/ws/${topic}`,
    protocols: [],
    readyOnFirstFrame: true,
    messagesIn: brokerMessagesIn,
    close: () => http.close(),
  };
}
