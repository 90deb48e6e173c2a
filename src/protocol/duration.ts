const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration given as milliseconds (a number or a digit string) or a
 * string with a unit: `250ms`, `30s`, `5m`, `24h`, `7d`. Returns `undefined`
 * when the input is not a duration.
 *
 * @example
 * parseDuration("30s"); // 30000
 * parseDuration(250);   // 250
 */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === "number") {
    return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  }
  if (typeof input !== "string") return undefined;
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const match = DURATION_RE.exec(text);
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Math.round(Number(amount) * (UNITS[unit as string] as number));
}
