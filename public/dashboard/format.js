/**
 * How numbers, sizes, durations and ages read on the dashboard. A value the broker did not
 * answer (a field of a newer release, or one the credential may not see) reads as an em dash.
 */
export const NONE = "—";

const integer = new Intl.NumberFormat("en");
const decimal = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

const known = (value) => typeof value === "number" && Number.isFinite(value);

/** `1,204`, or `—`. */
export function count(value) {
  return known(value) ? integer.format(value) : NONE;
}

/** `12.5 KiB`, or `—`. */
export function bytes(value) {
  if (!known(value)) return NONE;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${unit === 0 ? integer.format(n) : decimal.format(n)} ${units[unit]}`;
}

/** `250 ms`, `42 s`, `5 min 3 s`, `2 h 5 min`, `3 d 4 h`, or `—`. */
export function duration(ms) {
  if (!known(ms)) return NONE;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const parts = [
    [Math.floor(s / 86_400), "d"],
    [Math.floor((s % 86_400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "min"],
    [s % 60, "s"],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n} ${unit}`)
    .join(" ");
}

/** `12.3/s`, or `—`. */
export function rate(perSecond) {
  return known(perSecond) ? `${decimal.format(perSecond)}/s` : NONE;
}

/** `42 %` (below 1 %, one decimal), or `—`. */
export function percent(fraction) {
  if (!known(fraction)) return NONE;
  const p = fraction * 100;
  return `${p > 0 && p < 1 ? decimal.format(p) : integer.format(Math.round(p))} %`;
}

/** How long ago an epoch-ms time was: `3 min ago`, or `—`. */
export function ago(at, now = Date.now()) {
  return known(at) ? `${duration(Math.max(0, now - at))} ago` : NONE;
}

/** An epoch-ms time as this browser's clock reads it. */
export function clock(at) {
  return known(at) ? new Date(at).toLocaleTimeString("en-GB") : NONE;
}

/** `1 message`, `1,204 messages`. */
export function plural(n, one, many = `${one}s`) {
  return `${count(n)} ${n === 1 ? one : many}`;
}
