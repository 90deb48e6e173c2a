/**
 * Reads the curl session of README.md ("Try it") so that a test can replay it against a real
 * broker: the README's examples are only worth reading if they work exactly as written.
 *
 * The session is the first ```sh block after the "## Try it" heading. Each command is a
 * `curl -s [-X METHOD] URL [-H 'name: value']… [-d 'body']` (lines may continue with `\`), and
 * may be followed by `# → <json>`, the answer a reader sees, which may go on over lines that
 * start with `#   ` (so no line of the README runs past 120 characters). In that answer `"…"`
 * stands for any value and a bare `…` for members left out, so the README can show the parts
 * that matter.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

const README = path.resolve(import.meta.dirname, "../../README.md");
/** Where `npm start` listens by default: the host the README's commands name. */
export const README_ORIGIN = "http://127.0.0.1:8787";

export interface SessionStep {
  /** The command as written, for failure messages. */
  command: string;
  method: string;
  /** Path and query, without the origin. */
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** The answer shown under the command, parsed, with `"…"` wildcards left in. */
  shown: unknown;
}

/** A README session, in order: "Try it" unless another heading (`## Routing`) is named. */
export async function readmeSession(heading = "## Try it"): Promise<SessionStep[]> {
  const text = await readFile(README, "utf8");
  const at = text.indexOf(`\n${heading}`);
  if (at < 0) throw new Error(`README.md has no "${heading}" section`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block?.[1]) throw new Error(`README.md "${heading}" has no \`\`\`sh block`);

  const steps: SessionStep[] = [];
  // An answer's continuation lines join the line before them.
  const lines = block[1]
    .replace(/\\\n\s*/g, "")
    .replace(/\n# {3,}/g, "")
    .split("\n");
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed.startsWith("# →")) {
      const last = steps.at(-1);
      if (!last) throw new Error(`an answer with no command before it: ${trimmed}`);
      last.shown = parseShown(trimmed.slice(3).trim());
    } else if (trimmed.startsWith("curl ")) {
      steps.push(parseCurl(trimmed));
    } else if (trimmed !== "" && !trimmed.startsWith("#")) {
      throw new Error(`the README session may only hold curl commands: ${trimmed}`);
    }
  }
  return steps;
}

function parseCurl(command: string): SessionStep {
  const words = shellWords(command).slice(1);
  const step: SessionStep = {
    command,
    method: "GET",
    path: "",
    headers: {},
    body: undefined,
    shown: undefined,
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const next = () => {
      const value = words[++i];
      if (value === undefined) throw new Error(`${word} needs a value in: ${command}`);
      return value;
    };
    if (word === "-s") continue;
    if (word === "-X") step.method = next();
    else if (word === "-H") {
      const header = next();
      const colon = header.indexOf(":");
      step.headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
    } else if (word === "-d") {
      step.body = next();
      if (step.method === "GET") step.method = "POST";
    } else if (word.startsWith(README_ORIGIN)) step.path = word.slice(README_ORIGIN.length);
    else throw new Error(`unsupported curl argument ${JSON.stringify(word)} in: ${command}`);
  }
  if (step.path === "") throw new Error(`no ${README_ORIGIN} URL in: ${command}`);
  // curl labels a -d body as a form unless told otherwise, exactly as a reader's curl would.
  if (step.body !== undefined && step.headers["content-type"] === undefined) {
    step.headers["content-type"] = "application/x-www-form-urlencoded";
  }
  return step;
}

/** Splits a command into words: spaces separate, single or double quotes group (no escapes). */
function shellWords(command: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const match of command.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3] ?? "");
  return words;
}

/** Parses a shown answer: a bare `…` member or element is dropped, `"…"` stays as a wildcard. */
function parseShown(shown: string): unknown {
  const json = shown.replace(/,\s*…(?=\s*[}\]])/g, "").replace(/…\s*,\s*/g, "");
  try {
    return JSON.parse(json);
  } catch {
    throw new Error(`the answer shown in the README is not JSON: ${shown}`);
  }
}

/**
 * True when `actual` has everything `shown` shows: objects may have more members, arrays must
 * have the same length, and the string `"…"` matches any value.
 */
export function matchesShown(actual: unknown, shown: unknown): boolean {
  if (shown === "…") return actual !== undefined;
  if (Array.isArray(shown)) {
    return (
      Array.isArray(actual) &&
      actual.length === shown.length &&
      shown.every((item, i) => matchesShown(actual[i], item))
    );
  }
  if (typeof shown === "object" && shown !== null) {
    if (typeof actual !== "object" || actual === null || Array.isArray(actual)) return false;
    const record = actual as Record<string, unknown>;
    return Object.entries(shown).every(([key, value]) => matchesShown(record[key], value));
  }
  return Object.is(actual, shown);
}
