/**
 * The actions on a topic, each confirmed in a dialog: create it, delete it, publish to it (with
 * the client SDK), and create a subscription on it. A refusal (403) is remembered, so the
 * views show the action as one this credential may not do.
 */
import { ApiError, topicPath } from "./api.js";
import { confirmAction, field } from "./dialog.js";
import { announce, h } from "./dom.js";
import { plural } from "./format.js";

const NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}";
const NAME_HINT = "1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit.";

/** An input for a topic or subscription name, checked by the browser as the broker checks it. */
const nameInput = (name, extra = {}) =>
  h("input", { name, ...extra, pattern: NAME_PATTERN, autocomplete: "off", spellcheck: "false" });

/** Runs a call that needs `right` on `topic`; a 403 is remembered before it is passed on. */
export async function withRight(session, right, topic, call) {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError && error.status === 403)
      session.rights.refuse(right, topic, error.describe());
    throw error;
  }
}

/** `512MiB`, `1 GiB`, `4096` → bytes; "" → undefined. */
function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?$/i.exec(text.trim());
  if (text.trim() === "") return undefined;
  if (!match) throw new Error(`"${text}" is not a size: write bytes, or a number with KiB, MiB, GiB or TiB`);
  const power = ["b", "kib", "mib", "gib", "tib"].indexOf((match[2] ?? "b").toLowerCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

const optional = (value) => (String(value ?? "").trim() === "" ? undefined : String(value).trim());

/** Creates a topic with its retention, then opens it. */
export function createTopic(session) {
  return confirmAction({
    title: "Create a topic",
    description: "Retention limits left empty keep the broker's defaults (7 days, 1 GiB, no count limit).",
    content: [
      field("Name", nameInput("name", { required: true }), NAME_HINT),
      field(
        "Keep messages for",
        h("input", { name: "maxAge", placeholder: "7d", autocomplete: "off" }),
        "A duration: 30m, 24h, 7d.",
      ),
      field(
        "Keep at most (messages)",
        h("input", { name: "maxMessages", inputmode: "numeric", pattern: "[0-9]*", autocomplete: "off" }),
      ),
      field(
        "Keep at most (size)",
        h("input", { name: "maxBytes", placeholder: "1GiB", autocomplete: "off" }),
        "Bytes, or a number with KiB, MiB or GiB.",
      ),
      field(
        "When full",
        h(
          "select",
          { name: "onFull" },
          h("option", { value: "reject" }, "refuse publishes that would delete unacked messages"),
          h("option", { value: "drop-oldest" }, "delete the oldest messages anyway"),
        ),
      ),
    ],
    submitLabel: "Create topic",
    run: async (data) => {
      const name = String(data.get("name")).trim();
      const refused = session.rights.why("admin", name);
      if (refused !== null) throw new Error(`it cannot be created: ${refused}`);
      const retention = {};
      if (optional(data.get("maxAge"))) retention.maxAge = optional(data.get("maxAge"));
      if (optional(data.get("maxMessages"))) retention.maxMessages = Number(data.get("maxMessages"));
      const maxBytes = parseSize(String(data.get("maxBytes") ?? ""));
      if (maxBytes !== undefined) retention.maxBytes = maxBytes;
      // A PUT on a topic that exists changes its config: "create" must not do that unasked.
      const exists = await session.api.get(topicPath(name)).then(
        () => true,
        (error) => (error instanceof ApiError && error.status === 404 ? false : Promise.reject(error)),
      );
      if (exists) throw new Error(`a topic named "${name}" exists already`);
      await withRight(session, "admin", name, () =>
        session.api.put(topicPath(name), { retention, onFull: data.get("onFull") }),
      );
      announce(`created topic ${name}`);
      location.hash = `#/topics/${encodeURIComponent(name)}`;
    },
  });
}

/** Deletes a topic, its messages and its subscriptions, once its name is typed. */
export function deleteTopic(session, topic, stats) {
  return confirmAction({
    title: `Delete topic "${topic}"?`,
    description: `Its ${stats ? `${plural(stats.messages, "message")} and ${plural(stats.subscriptions, "subscription")}` : "messages and subscriptions"} are deleted with it. This cannot be undone.`,
    content: [
      field(
        "Type the topic's name to confirm",
        h("input", { name: "confirm", required: true, autocomplete: "off", spellcheck: "false" }),
      ),
    ],
    submitLabel: "Delete topic",
    danger: true,
    run: async (data) => {
      if (String(data.get("confirm")).trim() !== topic) throw new Error(`type "${topic}" to delete it`);
      await withRight(session, "admin", topic, () => session.api.delete(topicPath(topic)));
      announce(`deleted topic ${topic}`);
      location.hash = "#/";
    },
  });
}

/** Publishes one message through the client SDK. */
export function publishMessage(session, topic) {
  return confirmAction({
    title: `Publish to "${topic}"`,
    content: [
      field("Message", h("textarea", { name: "body", rows: "5", required: true })),
      field(
        "Read it as",
        h(
          "select",
          { name: "contentType" },
          h("option", { value: "json" }, "JSON"),
          h("option", { value: "text" }, "text"),
        ),
      ),
      field(
        "Attributes",
        h("textarea", { name: "attributes", rows: "2", spellcheck: "false" }),
        "One name=value a line.",
      ),
      field("Ordering key", h("input", { name: "key", autocomplete: "off", spellcheck: "false" })),
    ],
    submitLabel: "Publish",
    run: async (data) => {
      const text = String(data.get("body"));
      let body = text;
      if (data.get("contentType") === "json") {
        try {
          body = JSON.parse(text);
        } catch (error) {
          throw new Error(
            `the message is not valid JSON (${error.message}): choose "text" to send it as it is`,
          );
        }
      }
      const attributes = {};
      for (const line of String(data.get("attributes")).split("\n")) {
        if (line.trim() === "") continue;
        const at = line.indexOf("=");
        if (at < 1) throw new Error(`"${line}" is not name=value`);
        attributes[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      const options = { attributes };
      if (optional(data.get("key"))) options.key = optional(data.get("key"));
      if (data.get("contentType") === "text") options.contentType = "text/plain;charset=utf-8";
      const receipt = await withRight(session, "publish", topic, () =>
        session.broker.publish(topic, body, options).catch((error) => {
          // The SDK's error carries the broker's code; the views speak ApiError.
          throw new ApiError(error.status ?? 0, {
            code: error.code,
            title: "Not published",
            detail: error.detail,
          });
        }),
      );
      announce(`published seq ${receipt.seq} to ${topic}`);
      session.notice(`Published to "${topic}" as seq ${receipt.seq}.`);
    },
  });
}

/** Creates a subscription: where it starts, its retries and dead letters, and push or pull. */
export function createSubscription(session, topic) {
  return confirmAction({
    title: `Create a subscription on "${topic}"`,
    content: [
      field("Name", nameInput("name", { required: true }), NAME_HINT),
      field(
        "Starts at",
        h(
          "select",
          { name: "startAt" },
          h("option", { value: "latest" }, "the next message published"),
          h("option", { value: "earliest" }, "the oldest message kept"),
        ),
      ),
      field("Ack timeout", h("input", { name: "ackTimeout", placeholder: "30s", autocomplete: "off" })),
      field(
        "Attempts before dead-lettering",
        h("input", { name: "maxAttempts", inputmode: "numeric", pattern: "[0-9]*", autocomplete: "off" }),
        "Empty: retry for ever.",
      ),
      field("Dead-letter topic", nameInput("deadLetterTopic")),
      field(
        "Push to URL",
        h("input", { name: "pushUrl", type: "url", autocomplete: "off", spellcheck: "false" }),
        "Empty: consumers pull, or hold a socket.",
      ),
    ],
    submitLabel: "Create subscription",
    run: async (data) => {
      const name = String(data.get("name")).trim();
      const path = topicPath(topic, "subscriptions", name);
      const exists = await session.api.get(path).then(
        () => true,
        (error) => (error instanceof ApiError && error.status === 404 ? false : Promise.reject(error)),
      );
      if (exists) throw new Error(`a subscription named "${name}" exists already`);
      const config = { startAt: data.get("startAt") };
      if (optional(data.get("ackTimeout"))) config.ackTimeout = optional(data.get("ackTimeout"));
      if (optional(data.get("maxAttempts"))) config.maxAttempts = Number(data.get("maxAttempts"));
      if (optional(data.get("deadLetterTopic")))
        config.deadLetterTopic = optional(data.get("deadLetterTopic"));
      if (optional(data.get("pushUrl"))) config.push = { url: optional(data.get("pushUrl")) };
      const answer = await withRight(session, "admin", topic, () => session.api.put(path, config));
      announce(`created subscription ${name}`);
      session.notice(
        answer.secret
          ? `Created "${name}". Its push signing secret, shown this once: ${answer.secret}`
          : `Created "${name}".`,
      );
    },
  });
}
