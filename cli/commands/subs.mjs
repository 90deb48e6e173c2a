/**
 * `edge-broker subs ls | create | info | rm | seek | pause | resume | purge | redrive`: a topic's
 * subscriptions, over the HTTP API
 * (`/v1/topics/{topic}/subscriptions/…`).
 */
import { duration, integerOption, JSON_OPTION, pairsOption, UsageError } from "../args.mjs";
import { api } from "../http.mjs";
import { columns, fields, formatDuration, formatTime, writeOut } from "../output.mjs";

const path = (topic, sub, ...rest) => ["v1", "topics", topic, "subscriptions", sub, ...rest];

const ls = {
  usage: "<topic>",
  summary: "List a topic's subscriptions with their backlog",
  positionals: [1, 1],
  options: { ...JSON_OPTION },
  examples: ["edge-broker subs ls orders"],
  async run({ config, values, positionals: [topic] }) {
    const { body } = await api(config, "GET", ["v1", "topics", topic, "subscriptions"]);
    if (values.json) return writeOut(`${JSON.stringify(body.subscriptions)}\n`);
    if (body.subscriptions.length === 0) return writeOut(`no subscriptions on ${topic}\n`);
    const rows = body.subscriptions.map((s) => [
      s.name,
      s.stats.backlog,
      s.stats.inFlight,
      s.stats.consumers,
      s.stats.deadLettered,
    ]);
    return writeOut(`${columns(["NAME", "BACKLOG", "IN-FLIGHT", "CONSUMERS", "DEAD-LETTERED"], rows)}\n`);
  },
};

const create = {
  usage: "<topic> <subscription>",
  summary: "Create a subscription, or change its config",
  description:
    "Create a subscription with the config given, or change the config of an existing one (what\n" +
    "is not given keeps its value; --start-at counts only on creation: move a cursor with seek).",
  positionals: [2, 2],
  options: {
    "start-at": {
      type: "string",
      value: "POSITION",
      describe: "earliest, latest (the default), a seq, or a time (ISO 8601)",
    },
    "ack-timeout": { type: "string", value: "DURATION", describe: "how long a delivered message is leased" },
    "max-attempts": {
      type: "string",
      value: "N",
      describe: "deliveries before a message is dead-lettered, or none",
    },
    "backoff-min": {
      type: "string",
      value: "DURATION",
      describe: "shortest retry delay (with --backoff-max)",
    },
    "backoff-max": {
      type: "string",
      value: "DURATION",
      describe: "longest retry delay (with --backoff-min)",
    },
    "dead-letter-topic": {
      type: "string",
      value: "TOPIC",
      describe: "where messages go after --max-attempts, or none",
    },
    filter: {
      type: "string",
      multiple: true,
      value: "NAME=VALUE",
      describe: "deliver only messages with this attribute; none removes the filter",
    },
    ordered: { type: "boolean", describe: "at most one message in flight per key (--no-ordered: off)" },
    ...JSON_OPTION,
  },
  examples: [
    "edge-broker subs create orders billing --start-at earliest --ack-timeout 1m",
    "edge-broker subs create orders eu --filter region=eu --max-attempts 5 --dead-letter-topic orders.dead",
  ],
  async run({ config, values, positionals: [topic, sub], name }) {
    const body = {};
    if (values["start-at"] !== undefined) body.startAt = position(values["start-at"], "start-at", name);
    if (values["ack-timeout"] !== undefined) body.ackTimeout = duration(values, "ack-timeout", name);
    if (values["max-attempts"] === "none") body.maxAttempts = null;
    else if (values["max-attempts"] !== undefined) {
      body.maxAttempts = integerOption(values, "max-attempts", name, { min: 1, max: 1_000 });
    }
    if ((values["backoff-min"] === undefined) !== (values["backoff-max"] === undefined)) {
      throw new UsageError("--backoff-min and --backoff-max go together", name);
    }
    if (values["backoff-min"] !== undefined) {
      body.backoff = {
        min: duration(values, "backoff-min", name),
        max: duration(values, "backoff-max", name),
      };
    }
    const deadLetter = values["dead-letter-topic"];
    if (deadLetter !== undefined) body.deadLetterTopic = deadLetter === "none" ? null : deadLetter;
    if (values.filter?.length === 1 && values.filter[0] === "none") body.filter = null;
    else if (values.filter !== undefined) body.filter = { attributes: pairsOption(values, "filter", name) };
    if (values.ordered !== undefined) body.ordered = values.ordered;
    const answer = await api(config, "PUT", path(topic, sub), { json: body });
    if (values.json) return writeOut(`${JSON.stringify(answer.body)}\n`);
    return writeOut(`${answer.status === 201 ? "created" : "updated"} subscription ${topic}/${sub}\n`);
  },
};

const info = {
  usage: "<topic> <subscription>",
  summary: "Show a subscription's config and stats",
  positionals: [2, 2],
  options: { ...JSON_OPTION },
  examples: ["edge-broker subs info orders billing"],
  async run({ config, values, positionals: [topic, sub] }) {
    const { body } = await api(config, "GET", path(topic, sub));
    if (values.json) return writeOut(`${JSON.stringify(body)}\n`);
    const { stats: s, config: c } = body;
    const filter = c.filter ? Object.entries(c.filter.attributes).map(([k, v]) => `${k}=${v}`) : [];
    const lines = fields([
      ["subscription", `${body.topic}/${body.name}`],
      ["created", formatTime(body.createdAt)],
      ["backlog", `${s.backlog} (${s.inFlight} in flight)`],
      ["ack floor", `${s.ackFloor}, cursor ${s.cursor}`],
      ["delivered", `${s.delivered} (${s.redelivered} redelivered), acked ${s.acked}, nacked ${s.nacked}`],
      ["dead-lettered", `${s.deadLettered} (${s.discarded} discarded)`],
      ["consumers", String(s.consumers)],
      [
        "config",
        `ack timeout ${formatDuration(c.ackTimeout)}, backoff ${formatDuration(c.backoff.min)}–` +
          `${formatDuration(c.backoff.max)}, max attempts ${c.maxAttempts ?? "none"}, ` +
          `dead-letter topic ${c.deadLetterTopic ?? "none"}, ordered ${c.ordered ? "yes" : "no"}`,
      ],
      ["filter", filter.length ? filter.join(" ") : "none"],
    ]);
    return writeOut(`${lines}\n`);
  },
};

const rm = {
  usage: "<topic> <subscription>",
  summary: "Delete a subscription",
  positionals: [2, 2],
  options: {},
  examples: ["edge-broker subs rm orders billing"],
  async run({ config, positionals: [topic, sub] }) {
    await api(config, "DELETE", path(topic, sub));
    return writeOut(`deleted subscription ${topic}/${sub}\n`);
  },
};

const seek = {
  usage: "<topic> <subscription> <position>",
  summary: "Move a subscription's cursor",
  description:
    "Move a subscription's cursor: to earliest (replay everything retained), latest (skip the\n" +
    "backlog), a seq (delivered next), or a time (ISO 8601, like 2026-05-01T09:00:00Z).",
  positionals: [3, 3],
  options: { ...JSON_OPTION },
  examples: ["edge-broker subs seek orders billing earliest", "edge-broker subs seek orders billing 42"],
  async run({ config, values, positionals: [topic, sub, to], name }) {
    const target = position(to, undefined, name);
    const json = { to: typeof target === "object" && "seq" in target ? target.seq : target };
    const { body } = await api(config, "POST", path(topic, sub, "seek"), { json });
    if (values.json) return writeOut(`${JSON.stringify(body)}\n`);
    return writeOut(`moved ${topic}/${sub} to cursor ${body.cursor}\n`);
  },
};

/**
 * Operating a subscription: `paused` in the subscription PUT, `POST …/purge` (answers
 * `{purged}`) and `POST …/redrive` (answers `{redriven}`).
 */
const OPERATIONS = {
  pause: pauseCommand(true),
  resume: pauseCommand(false),
  purge: {
    usage: "<topic> <subscription>",
    summary: "Drop a subscription's backlog: every message it has not acked",
    positionals: [2, 2],
    options: { ...JSON_OPTION },
    examples: ["edge-broker subs purge orders billing"],
    async run({ config, values, positionals: [topic, sub] }) {
      const { body } = await api(config, "POST", path(topic, sub, "purge"));
      if (values.json) return writeOut(`${JSON.stringify(body)}\n`);
      return writeOut(`purged ${body.purged} messages from ${topic}/${sub}\n`);
    },
  },
  redrive: {
    usage: "<topic> <subscription>",
    summary: "Deliver a subscription's dead-lettered messages again",
    positionals: [2, 2],
    options: { ...JSON_OPTION },
    examples: ["edge-broker subs redrive orders billing"],
    async run({ config, values, positionals: [topic, sub] }) {
      const { body } = await api(config, "POST", path(topic, sub, "redrive"));
      if (values.json) return writeOut(`${JSON.stringify(body)}\n`);
      return writeOut(`redrove ${body.redriven} messages to ${topic}/${sub}\n`);
    },
  },
};

function pauseCommand(paused) {
  return {
    usage: "<topic> <subscription>",
    summary: paused
      ? "Stop delivering a subscription's messages"
      : "Deliver a paused subscription's messages again",
    positionals: [2, 2],
    options: { ...JSON_OPTION },
    examples: [`edge-broker subs ${paused ? "pause" : "resume"} orders billing`],
    async run({ config, values, positionals: [topic, sub] }) {
      const { body } = await api(config, "PUT", path(topic, sub), { json: { paused } });
      if (values.json) return writeOut(`${JSON.stringify(body)}\n`);
      return writeOut(`${paused ? "paused" : "resumed"} subscription ${topic}/${sub}\n`);
    },
  };
}

/** The `subs` commands, in the order help lists them. */
export const SUBS = { ls, create, info, rm, seek, ...OPERATIONS };

/**
 * `earliest`, `latest`, a seq (`{seq}`) or an ISO 8601 time (`{time}`), as `startAt` takes them.
 *
 * @example
 * position("42");                   // { seq: 42 }
 * position("2026-05-01T09:00:00Z"); // { time: 1777626000000 }
 */
function position(text, flag, name) {
  if (text === "earliest" || text === "latest") return text;
  if (/^\d+$/.test(text)) return { seq: Number(text) };
  const time = /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isNaN(time)) return { time };
  const what = flag ? `--${flag}` : "the position";
  throw new UsageError(`${what} must be earliest, latest, a seq or an ISO 8601 time, not "${text}"`, name);
}
