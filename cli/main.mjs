/**
 * `edge-broker`: the command line of the broker. Finds the command, parses its options, runs it,
 * and turns what went wrong into a message and an exit code: 0 done, 1 a request the broker
 * refused (or could not be reached for), 2 a mistake in the command line.
 *
 * @example
 * process.exitCode = await main(["topics", "ls", "--json"]);
 */
import { readFileSync } from "node:fs";
import { commandHelp, groupHelp, parseCommand, UsageError } from "./args.mjs";
import { sub, tail } from "./commands/consume.mjs";
import { pub } from "./commands/pub.mjs";
import { SUBS } from "./commands/subs.mjs";
import { token } from "./commands/token.mjs";
import { TOPICS } from "./commands/topics.mjs";
import { Refusal, resolveConfig } from "./http.mjs";
import { OutputClosed } from "./output.mjs";

const GROUPS = {
  topics: { summary: "Manage topics", commands: TOPICS },
  subs: { summary: "Manage a topic's subscriptions", commands: SUBS },
};

/** Every command, groups included, in the order the help lists them. */
const COMMANDS = {
  topics: { summary: "List, create, inspect and delete topics (ls, create, info, rm)" },
  pub,
  sub,
  tail,
  subs: {
    summary:
      "List, create, inspect, delete, seek, pause, resume, purge and redrive subscriptions (ls, create, info, rm, seek, pause, resume, purge, redrive)",
  },
  token,
};

const SUMMARY =
  "The command line of edge-broker, a durable message broker on Cloudflare Durable Objects.\n" +
  "It talks to the broker at --url, else $EDGE_BROKER_URL, else http://127.0.0.1:8787, with the\n" +
  "credential in --token, else $EDGE_BROKER_TOKEN.";

const EXIT = { ok: 0, refused: 1, usage: 2 };

/** Runs one command line; resolves with the exit code. */
export async function main(argv) {
  const [first, ...rest] = argv;
  try {
    if (first === undefined) throw new UsageError("a command is missing", "");
    if (first === "--help" || first === "-h" || first === "help") {
      process.stdout.write(groupHelp("", SUMMARY, COMMANDS, ["Exit codes: 0 done, 1 refused, 2 usage."]));
      return EXIT.ok;
    }
    if (first === "--version") {
      process.stdout.write(`${version()}\n`);
      return EXIT.ok;
    }
    const group = GROUPS[first];
    if (group !== undefined) return await runGroup(first, group, rest);
    const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (command === undefined) throw new UsageError(`"${first}" is not a command`, "");
    return await runCommand(command, first, rest);
  } catch (error) {
    return report(error);
  }
}

async function runGroup(groupName, group, args) {
  const [subName, ...rest] = args;
  if (subName === "--help" || subName === "-h") {
    process.stdout.write(groupHelp(groupName, group.summary, group.commands));
    return EXIT.ok;
  }
  if (subName === undefined) throw new UsageError(`a ${groupName} command is missing`, groupName);
  const command = Object.hasOwn(group.commands, subName) ? group.commands[subName] : undefined;
  if (command === undefined) {
    const known = Object.keys(group.commands).join(", ");
    throw new UsageError(`"${subName}" is not a ${groupName} command (${known})`, groupName);
  }
  return runCommand(command, `${groupName} ${subName}`, rest);
}

async function runCommand(command, name, args) {
  const parsed = parseCommand(command, args, name);
  if (parsed === undefined) {
    process.stdout.write(commandHelp(command, name));
    return EXIT.ok;
  }
  const config = resolveConfig(parsed.values, process.env, name);
  await command.run({ config, values: parsed.values, positionals: parsed.positionals, name });
  return EXIT.ok;
}

/** Prints what went wrong and picks the exit code. */
function report(error) {
  if (error instanceof UsageError) {
    const where = error.command ? `edge-broker ${error.command}` : "edge-broker";
    const usage = usageLine(error.command);
    process.stderr.write(
      `${where}: ${error.message}\n${usage ? `usage: ${usage}\n` : ""}Run "${where} --help" for usage.\n`,
    );
    return EXIT.usage;
  }
  // The reader of stdout went away (`… | head`): nothing left to say, and nobody to say it to.
  if (error instanceof OutputClosed) return EXIT.ok;
  if (error instanceof Refusal) {
    process.stderr.write(`${error}\n`);
    return EXIT.refused;
  }
  process.stderr.write(`${error?.stack ?? error}\n`);
  return EXIT.refused;
}

/** The usage line of a command by its full name (`subs create`), or of a group. */
function usageLine(fullName) {
  if (!fullName) return "edge-broker <command> [options]";
  const [groupName, subName] = fullName.split(" ");
  const group = GROUPS[groupName];
  if (group !== undefined && subName === undefined) return `edge-broker ${groupName} <command> [options]`;
  const command = group !== undefined ? group.commands[subName] : COMMANDS[groupName];
  if (command === undefined) return undefined;
  return `edge-broker ${fullName}${command.usage ? ` ${command.usage}` : ""} [options]`;
}

function version() {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return manifest.version;
}
