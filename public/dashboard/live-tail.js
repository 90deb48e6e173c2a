/**
 * A live tail of a topic: each message as it is published, from the moment the tail starts.
 * It is the client SDK's `live()` (one WebSocket, reconnects and resumes by seq on its own).
 * A credential that cannot travel in a WebSocket subprotocol entry (an admin key with `/` or
 * `=`, as `openssl rand -base64` makes) would go in the socket's URL, which the dashboard never
 * does: that credential tails with long-polls over HTTP instead, with the header.
 */
import { ApiError, topicPath } from "./api.js";
import { fitsSubprotocol } from "./credential.js";
import { h } from "./dom.js";
import { clock } from "./format.js";

/** Older messages leave the list beyond this many, so a busy topic cannot exhaust memory. */
const MAX_SHOWN = 200;
/** A person is watching: after an outage, try again within 5 s. */
const RECONNECT = { min: 250, max: 5_000 };
const LONG_POLL = "20s";

/**
 * @example
 * const tail = new LiveTailPanel(session, "orders");
 * container.append(tail.element);
 * tail.start();
 */
export class LiveTailPanel {
  #session;
  #topic;
  #list = h("ol", {
    class: "tail",
    id: "tail-messages",
    "aria-label": "Messages of the live tail",
    tabindex: "0",
  });
  #status = h("p", { id: "tail-status", role: "status", dataset: { state: "stopped" } }, "Stopped.");
  #stop = null;

  #onChange;

  /** `onChange()` runs when the tail starts, stops or ends by itself (the topic was deleted). */
  constructor(session, topic, onChange = () => {}) {
    this.#session = session;
    this.#topic = topic;
    this.#onChange = onChange;
    this.element = h("div", { class: "tail-panel" }, this.#status, this.#list);
  }

  get running() {
    return this.#stop !== null;
  }

  start() {
    if (this.#stop) return;
    this.#list.replaceChildren();
    this.#stop = fitsSubprotocol(this.#session.credential.secret)
      ? this.#overSocket()
      : this.#overLongPolls();
    this.#onChange();
  }

  stop() {
    this.#stop?.();
    this.#stop = null;
    this.#show("stopped", "Stopped.");
    this.#onChange();
  }

  #ended(text) {
    this.#stop = null;
    this.#show("closed", text);
    this.#onChange();
  }

  #overSocket() {
    const tail = this.#session.broker.live(this.#topic, { reconnect: RECONNECT });
    tail.addEventListener("status", (event) => {
      const status = event.status;
      if (status.type === "open") {
        this.#show(
          "open",
          status.epoch === null
            ? "Following: the topic does not exist yet, waiting for it."
            : "Following: new messages appear below.",
        );
      } else if (status.type === "reconnecting") {
        this.#show(
          "reconnecting",
          `Reconnecting in ${(status.delay / 1000).toFixed(1)} s (${status.error.message}).`,
        );
      } else if (status.type === "connecting") {
        this.#show("connecting", "Connecting…");
      } else if (status.type === "closed" && status.error) {
        this.#ended(`Ended: ${status.error.message}`);
      }
    });
    void (async () => {
      try {
        for await (const message of tail)
          this.#add(
            message.seq,
            message.publishedAt,
            message.contentType,
            message.attributes,
            describe(message),
          );
      } catch {
        // The status says why it ended.
      }
    })();
    return () => tail.close();
  }

  #overLongPolls() {
    const abort = new AbortController();
    const api = this.#session.api;
    void (async () => {
      try {
        this.#show("connecting", "Connecting…");
        let after = (await api.get(topicPath(this.#topic), {}, { signal: abort.signal })).stats.lastSeq;
        this.#show("open", "Following with long-polls over HTTP: new messages appear below.");
        while (!abort.signal.aborted) {
          const page = await api.get(
            topicPath(this.#topic, "messages"),
            { after, wait: LONG_POLL, limit: 100 },
            { signal: abort.signal },
          );
          for (const m of page.messages)
            this.#add(m.seq, m.publishedAt, m.contentType, m.attributes, wireBody(m));
          after = page.next;
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        this.#ended(`Ended: ${error instanceof ApiError ? error.describe() : error.message}`);
      }
    })();
    return () => abort.abort();
  }

  #show(state, text) {
    this.#status.dataset.state = state;
    this.#status.textContent = text;
  }

  #add(seq, publishedAt, contentType, attributes, body) {
    const head = [
      `#${seq}`,
      clock(publishedAt),
      contentType,
      ...Object.entries(attributes).map(([k, v]) => `${k}=${v}`),
    ];
    this.#list.append(
      h("li", { dataset: { seq } }, h("div", { class: "head" }, head.join(" · ")), h("pre", {}, body)),
    );
    while (this.#list.childElementCount > MAX_SHOWN) this.#list.firstElementChild.remove();
  }
}

function describe(message) {
  if (/[/+]json\b/i.test(message.contentType)) return JSON.stringify(message.json(), null, 2);
  if (/^text\//i.test(message.contentType)) return message.text();
  return `(${message.bytes().byteLength} bytes)`;
}

function wireBody(message) {
  if ("data" in message)
    return typeof message.data === "string" ? message.data : JSON.stringify(message.data, null, 2);
  return `(${Math.floor((message.dataBase64?.length ?? 0) * 0.75)} bytes)`;
}
