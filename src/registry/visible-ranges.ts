/**
 * The parts of the catalogue a listing may read: what a caller's grant patterns match, cut to
 * the listing's prefix. A prefix pattern is a range of names (every name that starts with it)
 * and an exact pattern a single name; the Registry reads each part through the primary key in
 * turn, so a page costs the rows it shows, not the names it must skip.
 */
export type VisibleRange = { kind: "prefix"; prefix: string } | { kind: "exact"; name: string };

const keyOf = (range: VisibleRange): string => (range.kind === "prefix" ? range.prefix : range.name);

/**
 * The ranges of names under `prefix` that `patterns` match, disjoint and in name order. Two
 * prefix ranges are either nested or disjoint, so dropping the nested ones leaves disjoint
 * ranges, and sorting them by their first name sorts every name in them.
 *
 * @example
 * visibleRanges("orders", ["orders.eu.*", "orders.*", "orders.us", "billing"]);
 * // [{ kind: "prefix", prefix: "orders." }]
 * visibleRanges("", ["b", "a*"]);
 * // [{ kind: "prefix", prefix: "a" }, { kind: "exact", name: "b" }]
 */
export function visibleRanges(prefix: string, patterns: readonly string[]): VisibleRange[] {
  const prefixes = new Set<string>();
  const exacts = new Set<string>();
  for (const pattern of patterns) {
    if (!pattern.endsWith("*")) {
      if (pattern.startsWith(prefix)) exacts.add(pattern);
      continue;
    }
    const start = pattern.slice(0, -1);
    // The pattern's range inside the listing's: the narrower of the two, when they meet.
    if (start.startsWith(prefix)) prefixes.add(start);
    else if (prefix.startsWith(start)) prefixes.add(prefix);
  }
  const outer = [...prefixes].filter((p) => ![...prefixes].some((q) => q !== p && p.startsWith(q)));
  const ranges: VisibleRange[] = [
    ...outer.map((p): VisibleRange => ({ kind: "prefix", prefix: p })),
    ...[...exacts]
      .filter((name) => !outer.some((p) => name.startsWith(p)))
      .map((name): VisibleRange => ({ kind: "exact", name })),
  ];
  // Names and patterns are ASCII, so JavaScript's order is SQLite's (BINARY) order.
  return ranges.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}
