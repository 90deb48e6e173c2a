/**
 * What the tool prints: messages (one line each, readable or JSON), durations, sizes, times and
 * tables, and writing to stdout in a way that a closed pipe (`… | head`) ends quietly.
 */

const UNITS = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/**
 * Milliseconds as the broker's own duration syntax, in the largest unit that divides them.
 *
 * @example
 * formatDuration(604_800_000); // "7d"
 * formatDuration(90_000);      // "90s"
 */
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "none";
  for (const [unit, size] of UNITS) if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/**
 * Bytes in binary units.
 *
 * @example
 * formatBytes(1_073_741_824); // "1 GiB"
 * formatBytes(1_536);         // "1.5 KiB"
 */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "none";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Epoch ms as an ISO 8601 time. */
export const formatTime = (ms) => new Date(ms).toISOString();

/**
 * A message as one line of JSON: the wire form (`data` for JSON and text bodies, `dataBase64`
 * for the rest), with `attempt` for a message of a subscription.
 *
 * @example
 * messageJson(message); // '{"seq":1,"id":"…","publishedAt":…,"contentType":"application/json","attributes":{},"data":{"id":1}}'
 */
export function messageJson(message) {
  const wire = {
    seq: message.seq,
    id: message.id,
    publishedAt: message.publishedAt,
    contentType: message.contentType,
    attributes: message.attributes,
  };
  if (message.key !== undefined) wire.key = message.key;
  if (message.attempt !== undefined) wire.attempt = message.attempt;
  const data = message.data;
  if (data instanceof Uint8Array) wire.dataBase64 = Buffer.from(data).toString("base64");
  else wire.data = data;
  return JSON.stringify(wire);
}

/**
 * A message as one readable line: seq, time, then the key, attributes and attempt when there
 * are any, then the body (JSON compact, text as it is, other bytes as their size and type).
 *
 * @example
 * messageLine(message); // '3  2026-05-01T09:30:00.000Z  key=c-7 region=eu  {"order":3}'
 */
export function messageLine(message) {
  const tags = [];
  if (message.key !== undefined) tags.push(`key=${message.key}`);
  for (const [name, value] of Object.entries(message.attributes)) tags.push(`${name}=${value}`);
  if (message.attempt !== undefined && message.attempt > 1) tags.push(`attempt=${message.attempt}`);
  const data = message.data;
  let body;
  if (data instanceof Uint8Array) body = `(${formatBytes(data.byteLength)} of ${message.contentType})`;
  else if (typeof data === "string" && !/json/i.test(message.contentType)) body = data;
  else body = JSON.stringify(data);
  return [
    String(message.seq),
    formatTime(message.publishedAt),
    ...(tags.length ? [tags.join(" ")] : []),
    body,
  ].join("  ");
}

/**
 * Rows as aligned columns under a header.
 *
 * @example
 * columns(["NAME", "BACKLOG"], [["billing", "0"]]); // "NAME     BACKLOG\nbilling  0"
 */
export function columns(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => String(row[i]).length)));
  return all
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? String(cell) : String(cell).padEnd(widths[i]))).join("  "),
    )
    .join("\n");
}

/** `label  value` lines with the labels padded to one width. */
export function fields(pairs) {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n");
}

/** Thrown by {@link writeOut} when stdout was closed by its reader (`… | head -1`). */
export class OutputClosed extends Error {
  constructor() {
    super("standard output was closed");
    this.name = "OutputClosed";
  }
}

let outputClosed = false;
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") outputClosed = true;
  else throw error;
});

/**
 * Writes text to stdout and resolves once it was handed to the operating system, so that a
 * consumer acks a message only after printing it. Rejects with {@link OutputClosed} when the
 * reader has gone.
 */
export function writeOut(text) {
  if (outputClosed) return Promise.reject(new OutputClosed());
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => {
      if (error || outputClosed) reject(new OutputClosed());
      else resolve();
    });
  });
}
