/**
 * Commands, their options, their `--help`, and the parsing of a command line into them, on
 * `node:util` parseArgs. A command is a plain object:
 *
 *   { name, usage, summary, description?, options, positionals: [min, max], examples?, run }
 *
 * where each option is a parseArgs option plus `describe` (one line of help) and `value` (the
 * placeholder shown in help for a string option).
 */
import { parseArgs } from "node:util";
import { parseDuration } from "../src/protocol/duration.ts";

/** A mistake in the command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  /** @param {string} message @param {string} [command] the full command name, for the hint */
  constructor(message, command) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  url: {
    type: "string",
    value: "URL",
    describe: "the broker (default: $EDGE_BROKER_URL, else http://127.0.0.1:8787)",
  },
  token: {
    type: "string",
    value: "TOKEN",
    describe: "a bearer credential, the admin key or a token (default: $EDGE_BROKER_TOKEN)",
  },
  help: { type: "boolean", short: "h", describe: "show this help" },
};

/** `--json`, for commands whose output a program may read. */
export const JSON_OPTION = {
  json: { type: "boolean", describe: "print JSON instead of the readable form" },
};

/**
 * Parses `args` for `command`: its options and the common ones, and its positionals.
 * Throws a {@link UsageError} for an unknown option, a missing value or a wrong count of
 * arguments. Returns `undefined` when `--help` was asked for (the caller prints it).
 *
 * @example
 * const parsed = parseCommand(pub, ["orders", "hello", "--key", "k1"], "pub");
 * // { values: { key: "k1" }, positionals: ["orders", "hello"] }
 */
export function parseCommand(command, args, fullName) {
  const options = {};
  for (const [name, spec] of Object.entries({ ...command.options, ...COMMON_OPTIONS })) {
    const { describe: _describe, value: _value, ...parseOption } = spec;
    options[name] = parseOption;
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, allowNegative: true, strict: true });
  } catch (error) {
    throw new UsageError(error.message, fullName);
  }
  if (parsed.values.help) return undefined;
  const [min, max] = command.positionals;
  const count = parsed.positionals.length;
  if (count < min) {
    throw new UsageError(`missing ${missingNames(command.usage, count)}`, fullName);
  }
  if (count > max) {
    const extra = parsed.positionals.slice(max).join(" ");
    throw new UsageError(`unexpected argument${count - max > 1 ? "s" : ""}: ${extra}`, fullName);
  }
  return parsed;
}

/** The `<names>` of the usage line from position `from` on, as words for an error. */
function missingNames(usage, from) {
  const required = [...usage.matchAll(/<([^>]+)>/g)].map((m) => m[1]);
  return required.slice(from).join(" and ") || "an argument";
}

/** A string option that must be a non-negative safe integer; `undefined` when absent. */
export function integerOption(values, name, fullName, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const text = values[name];
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} must be a whole number ${range}, not "${text}"`, fullName);
  }
  return Number(text);
}

/** A duration option in ms (`30s`, `24h`, or plain milliseconds); `undefined` when absent. */
export function duration(values, name, fullName) {
  if (values[name] === undefined) return undefined;
  const ms = parseDuration(values[name]);
  if (ms === undefined) {
    const like = "a duration like 250ms, 30s, 5m, 24h or 7d";
    throw new UsageError(`--${name}: "${values[name]}" is not ${like}`, fullName);
  }
  return ms;
}

/** A duration option that may also be `none` (`null`: no limit). */
export function durationOrNone(values, name, fullName) {
  return values[name] === "none" ? null : duration(values, name, fullName);
}

/**
 * `name=value` pairs of a repeatable option, as a record; `undefined` when none was given.
 *
 * @example
 * pairsOption({ attr: ["region=eu", "tier=gold"] }, "attr", "pub"); // { region: "eu", tier: "gold" }
 */
export function pairsOption(values, name, fullName) {
  const pairs = values[name];
  if (pairs === undefined || pairs.length === 0) return undefined;
  const record = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--${name} takes name=value, not "${pair}"`, fullName);
    record[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return record;
}

/** The help of one command: usage, description, options, examples. */
export function commandHelp(command, fullName) {
  const lines = [`Usage: edge-broker ${fullName}${command.usage ? ` ${command.usage}` : ""} [options]`, ""];
  lines.push(command.description ?? command.summary, "");
  const rows = Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`;
    return [flag, spec.describe + (spec.multiple ? " (repeatable)" : "")];
  });
  lines.push("Options:", ...table(rows, "  "));
  if (command.examples?.length) lines.push("", "Examples:", ...command.examples.map((e) => `  ${e}`));
  return `${lines.join("\n")}\n`;
}

/** The help of a group of commands (`topics`, `subs`) or of the tool itself. */
export function groupHelp(fullName, summary, commands, footer = []) {
  const name = fullName ? `edge-broker ${fullName}` : "edge-broker";
  const rows = Object.entries(commands).map(([sub, command]) => [sub, command.summary]);
  const lines = [`Usage: ${name} <command> [options]`, "", summary, "", "Commands:", ...table(rows, "  ")];
  lines.push("", `Run "${name} <command> --help" for the options of each.`, ...footer);
  return `${lines.join("\n")}\n`;
}

/** Rows of two columns, the first padded to a common width. */
function table(rows, indent) {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`);
}
