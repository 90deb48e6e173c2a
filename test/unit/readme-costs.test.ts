/**
 * The README's "What it costs" table is arithmetic on two others: Cloudflare's prices, kept once in
 * the README, and the rows and requests per message that `npm run bench` measured
 * (docs/benchmarks.md, the first "5. Cost" table, under "Results"). This recomputes it, so that a
 * new price or a new benchmark run cannot leave it stale.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
const benchmarks = readFileSync(path.join(ROOT, "docs/benchmarks.md"), "utf8");

/** The cells of a Markdown table's row whose first cell is `label`, in `text` after `from`. */
function row(text: string, label: string, from = 0): string[] {
  const line = text
    .slice(from)
    .split("\n")
    .find((l) => l.startsWith(`| ${label} `));
  if (!line) throw new Error(`no table row "${label}"`);
  return line
    .split("|")
    .slice(1, -1)
    .map((cell) => cell.trim());
}

/** A price cell such as `$0.30 / million`, as dollars per million. */
function perMillion(cell: string | undefined): number {
  const match = /^\$([\d.]+) \/ million$/.exec(cell ?? "");
  if (!match) throw new Error(`not a price per million: ${cell}`);
  return Number(match[1]);
}

const price = (name: string) => perMillion(row(readme, name)[2]);
const costSection = benchmarks.indexOf("### 5. Cost", benchmarks.indexOf("## Results"));

describe("the README's cost per message", () => {
  it.each([["single publishes (c=1)"], ["single publishes (c=16)"], ["batches of 100"]])(
    "follows from the prices and the benchmark for %s",
    (label) => {
      const [, , written, read, doPublish, doAll] = row(benchmarks, label, costSection).map(
        Number,
      ) as number[];
      // Each publish request is a Worker request and a DO request; the rest of the DO requests are
      // ack frames over WebSocket, which Cloudflare bills at 20 to 1.
      const doBilled = (doPublish as number) + ((doAll as number) - (doPublish as number)) / 20;
      const workerRequests = doPublish as number;
      const cost =
        (written as number) * price("SQLite rows written") +
        (read as number) * price("SQLite rows read") +
        doBilled * price("Durable Object requests") +
        workerRequests * price("Worker requests");
      const [, shownWritten, shownRead, shownDo, shownWorker, shownCost] = row(
        readme,
        label,
        readme.indexOf("| published as"),
      );
      expect({
        written: Number(shownWritten),
        read: Number(shownRead),
        do: Number(shownDo),
        worker: Number(shownWorker),
        cost: shownCost,
      }).toEqual({ written, read, do: round(doBilled), worker: workerRequests, cost: `$${cost.toFixed(2)}` });
    },
  );
});

const round = (n: number) => Math.round(n * 100) / 100;
