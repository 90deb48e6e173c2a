/**
 * Reads the command line session of README.md ("Command line") so that a test can replay it,
 * with `npx` and a shell as a reader would, against a real broker.
 *
 * The session is the first ```sh block after the "## Command line" heading. Each command runs
 * `npx edge-broker` (maybe after a `printf … |`), and may be followed by `# → <line>` lines: the
 * lines of stdout a reader sees, where `…` stands for any text. A command whose trailing comment
 * mentions Ctrl-C runs until it is interrupted: it is stopped once its lines have been printed.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

const README = path.resolve(import.meta.dirname, "../../README.md");

export interface CliStep {
  /** The command as written, without its trailing comment. */
  command: string;
  /** The stdout lines shown under it. */
  shown: string[];
  /** True for a command that runs until Ctrl-C. */
  untilInterrupted: boolean;
}

/** The README's command line session, in order. */
export async function readmeCliSession(): Promise<CliStep[]> {
  const text = await readFile(README, "utf8");
  const heading = text.indexOf("\n## Command line");
  if (heading < 0) throw new Error('README.md has no "## Command line" section');
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(heading));
  if (!block?.[1]) throw new Error('README.md "Command line" has no ```sh block');

  const steps: CliStep[] = [];
  for (const line of block[1].split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith("# →")) {
      const last = steps.at(-1);
      if (!last) throw new Error(`an answer with no command before it: ${trimmed}`);
      last.shown.push(trimmed.slice(3).trim());
    } else if (trimmed !== "" && !trimmed.startsWith("#")) {
      const comment = /\s+#\s[^'"]*$/.exec(trimmed);
      const command = comment ? trimmed.slice(0, comment.index) : trimmed;
      if (!command.includes("npx edge-broker ")) {
        throw new Error(`the README session may only run npx edge-broker: ${trimmed}`);
      }
      steps.push({ command, shown: [], untilInterrupted: /Ctrl-C/.test(comment?.[0] ?? "") });
    }
  }
  return steps;
}

/**
 * True when a line of output is what the README shows: equal, except that each `…` stands for
 * any text.
 *
 * @example
 * matchesShownLine("published seq 1 (id 7d1…)", "published seq 1 (id …)"); // true
 */
export function matchesShownLine(actual: string, shown: string): boolean {
  const pattern = shown
    .split("…")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${pattern}$`).test(actual);
}
