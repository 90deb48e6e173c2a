import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseFilter } from "../../src/protocol/filter-pattern";
import { compileFilter } from "../../src/topic/filter";

const README = path.resolve(import.meta.dirname, "../../README.md");
const utf8 = new TextEncoder();

/** The rows of the README's filter table: operator, pattern, a message it matches, one it does not. */
async function filterTable(): Promise<string[][]> {
  const text = await readFile(README, "utf8");
  const lines = text.slice(text.indexOf("\n### Filters")).split("\n");
  // The table may be padded to align its columns.
  const header = lines.findIndex((line) => /^\|\s*operator\s*\|\s*pattern\s*\|/.test(line));
  const end = lines.findIndex((line, i) => i > header && !line.startsWith("|"));
  const rows = lines.slice(header + 2, end);
  return rows.map((row) =>
    row
      .split(" | ")
      .map((cell) => cell.replace(/^\| /, "").replace(/ \|$/, "").trim())
      .map((cell, i) => (i === 0 ? cell.replaceAll("`", "") : cell.replace(/^`|`$/g, ""))),
  );
}

/** A message written as the table writes it, as the topic stores it. */
function stored(example: { attributes?: Record<string, string>; data?: unknown }) {
  return {
    attributes: example.attributes ?? {},
    content_type: "application/json",
    body: utf8.encode(JSON.stringify(example.data ?? {})),
  };
}

describe("the README's filter table", () => {
  it("shows every operator, and each example does what its row says", async () => {
    const rows = await filterTable();
    expect(rows.map((row) => row[0])).toEqual([
      "exact value",
      "list (OR)",
      "prefix",
      "suffix",
      "anything-but",
      "anything-but a prefix",
      "numeric",
      "exists",
      "nested, arrays",
      "$or",
    ]);
    for (const [operator, pattern, matching, other] of rows) {
      const parsed = JSON.parse(pattern as string);
      expect(parseFilter(parsed).ok, operator).toBe(true);
      const filter = compileFilter(parsed);
      expect(filter?.test(stored(JSON.parse(matching as string))), `${operator} matches`).toBe(true);
      expect(filter?.test(stored(JSON.parse(other as string))), `${operator} does not match`).toBe(false);
    }
  });
});
