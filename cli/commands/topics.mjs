/**
 * `edge-broker topics ls | create | info | rm`: the topic catalogue and each topic's config, over
 * the HTTP API (`GET /v1/topics`, `PUT`, `GET` and `DELETE /v1/topics/{topic}`).
 */
import { duration, durationOrNone, integerOption, JSON_OPTION, UsageError } from "../args.mjs";
import { api } from "../http.mjs";
import { columns, fields, formatBytes, formatDuration, formatTime, writeOut } from "../output.mjs";

/** Most topics one listing request asks for; the command follows the cursor for the rest. */
const PAGE = 1_000;

const ls = {
  usage: "",
  summary: "List topics",
  description: "List the topics this credential holds some right on, by name.",
  positionals: [0, 0],
  options: {
    prefix: { type: "string", value: "PREFIX", describe: "only topics whose name starts with PREFIX" },
    ...JSON_OPTION,
  },
  examples: ["edge-broker topics ls", "edge-broker topics ls --prefix orders. --json"],
  async run({ config, values }) {
    const topics = [];
    let cursor;
    do {
      const query = { prefix: values.prefix, cursor, limit: PAGE };
      const { body } = await api(config, "GET", ["v1", "topics"], { query });
      topics.push(...body.topics);
      cursor = body.cursor ?? undefined;
    } while (cursor !== undefined);
    if (values.json) return writeOut(`${JSON.stringify(topics)}\n`);
    if (topics.length === 0) return writeOut("no topics\n");
    const rows = topics.map((t) => [t.name, formatTime(t.createdAt)]);
    return writeOut(`${columns(["NAME", "CREATED"], rows)}\n`);
  },
};

const create = {
  usage: "<topic>",
  summary: "Create a topic, or change its config",
  description:
    "Create a topic with the config given, or change the config of an existing one (what is not\n" +
    "given keeps its value). A limit set to none is lifted.",
  positionals: [1, 1],
  options: {
    "max-age": { type: "string", value: "DURATION", describe: "delete messages older than this, or none" },
    "max-messages": { type: "string", value: "N", describe: "keep at most N messages, or none" },
    "max-bytes": { type: "string", value: "BYTES", describe: "keep at most this many bytes, or none" },
    "on-full": {
      type: "string",
      value: "POLICY",
      describe:
        "reject (refuse publishes, the default) or drop-oldest when a limit would drop unacked messages",
    },
    "dedup-window": {
      type: "string",
      value: "DURATION",
      describe: "how long idempotency keys are remembered",
    },
    ...JSON_OPTION,
  },
  examples: ["edge-broker topics create orders --max-age 3d --max-bytes none"],
  async run({ config, values, positionals: [topic], name }) {
    const retention = {};
    if (values["max-age"] !== undefined) retention.maxAge = durationOrNone(values, "max-age", name);
    for (const [flag, field] of [
      ["max-messages", "maxMessages"],
      ["max-bytes", "maxBytes"],
    ]) {
      if (values[flag] === "none") retention[field] = null;
      else if (values[flag] !== undefined) retention[field] = integerOption(values, flag, name, { min: 1 });
    }
    const body = {};
    if (Object.keys(retention).length > 0) body.retention = retention;
    if (values["on-full"] !== undefined) {
      if (!["reject", "drop-oldest"].includes(values["on-full"])) {
        throw new UsageError(`--on-full must be reject or drop-oldest, not "${values["on-full"]}"`, name);
      }
      body.onFull = values["on-full"];
    }
    if (values["dedup-window"] !== undefined) body.dedupWindow = duration(values, "dedup-window", name);
    const answer = await api(config, "PUT", ["v1", "topics", topic], { json: body });
    if (values.json) return writeOut(`${JSON.stringify(answer.body)}\n`);
    return writeOut(`${answer.status === 201 ? "created" : "updated"} topic ${topic}\n`);
  },
};

const info = {
  usage: "<topic>",
  summary: "Show a topic's config and stats",
  positionals: [1, 1],
  options: { ...JSON_OPTION },
  examples: ["edge-broker topics info orders"],
  async run({ config, values, positionals: [topic] }) {
    const { body } = await api(config, "GET", ["v1", "topics", topic]);
    if (values.json) return writeOut(`${JSON.stringify(body)}\n`);
    const { stats, config: c } = body;
    const range = stats.firstSeq === null ? "empty" : `seq ${stats.firstSeq}–${stats.lastSeq}`;
    const lines = fields([
      ["topic", body.name],
      ["created", formatTime(body.createdAt)],
      ["epoch", body.epoch],
      ["messages", `${stats.messages} (${range}), ${formatBytes(stats.bytes)}`],
      ["published", `${stats.published} (${stats.duplicates} duplicates, ${stats.dropped} dropped)`],
      ["subscriptions", String(stats.subscriptions)],
      [
        "retention",
        `max age ${formatDuration(c.retention.maxAge)}, max messages ${c.retention.maxMessages ?? "none"}, ` +
          `max bytes ${formatBytes(c.retention.maxBytes)}, on full ${c.onFull}`,
      ],
      ["dedup window", formatDuration(c.dedupWindow)],
    ]);
    return writeOut(`${lines}\n`);
  },
};

const rm = {
  usage: "<topic>",
  summary: "Delete a topic, its messages and its subscriptions",
  positionals: [1, 1],
  options: {},
  examples: ["edge-broker topics rm orders"],
  async run({ config, positionals: [topic] }) {
    await api(config, "DELETE", ["v1", "topics", topic]);
    return writeOut(`deleted topic ${topic}\n`);
  },
};

/** The `topics` commands, in the order help lists them. */
export const TOPICS = { ls, create, info, rm };
