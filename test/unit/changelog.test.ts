/**
 * CHANGELOG.md is kept by hand with each change (docs/versioning.md); this keeps its shape one a
 * reader and a release can rely on: `## Unreleased` first, then releases newest first as
 * `## x.y.z — YYYY-MM-DD`, the newest being package.json's version, entries as list items under
 * the six headings of Keep a Changelog.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { version } from "../../package.json";

const HEADINGS = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"];
const RELEASE = /^## (\d+)\.(\d+)\.(\d+) — (\d{4}-\d{2}-\d{2})$/;

interface Section {
  title: string;
  lines: string[];
}

const text = readFileSync(path.resolve(import.meta.dirname, "../../CHANGELOG.md"), "utf8");
const sections: Section[] = [];
for (const line of text.split("\n")) {
  if (line.startsWith("## ")) sections.push({ title: line, lines: [] });
  else sections.at(-1)?.lines.push(line);
}
const releases = sections.slice(1).map((section) => {
  const match = RELEASE.exec(section.title);
  return { section, match, version: match ? match.slice(1, 4).join(".") : null, date: match?.[4] };
});

describe("CHANGELOG.md", () => {
  it("starts with its title and the Unreleased section", () => {
    expect(text.startsWith("# Changelog\n")).toBe(true);
    expect(sections[0]?.title).toBe("## Unreleased");
  });

  it("lists releases as `## x.y.z — YYYY-MM-DD`, newest first, the newest being package.json's version", () => {
    expect(releases.length).toBeGreaterThan(0);
    for (const { section, match } of releases) expect(match, section.title).not.toBeNull();
    expect(releases[0]?.version).toBe(version);
    for (let i = 1; i < releases.length; i++) {
      const [newer, older] = [releases[i - 1], releases[i]].map((r) => r?.match?.slice(1, 4).map(Number)) as [
        number[],
        number[],
      ];
      const order = newer.findIndex((n, k) => n !== older[k]);
      expect(order >= 0 && (newer[order] as number) > (older[order] as number), `${version} order`).toBe(
        true,
      );
      expect((releases[i - 1]?.date as string) >= (releases[i]?.date as string)).toBe(true);
    }
    for (const { date } of releases) expect(Number.isNaN(Date.parse(date as string))).toBe(false);
  });

  it("holds only Keep a Changelog headings, each with list items, in every section", () => {
    for (const { title, lines } of sections) {
      const headings = lines.filter((line) => line.startsWith("### ")).map((line) => line.slice(4));
      for (const heading of headings) expect(HEADINGS, `${title}: ${heading}`).toContain(heading);
      expect(new Set(headings).size, `${title} repeats a heading`).toBe(headings.length);
      const body = lines.join("\n");
      for (const part of body.split(/^### .*$/m).slice(1)) {
        expect(part.trim().startsWith("- "), `${title}: a heading without entries`).toBe(true);
      }
      if (title !== "## Unreleased") expect(headings.length, `${title} has no entries`).toBeGreaterThan(0);
    }
  });
});
