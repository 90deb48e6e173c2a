/**
 * The broker's logs: one JSON object per line, so that Workers Logs (and `wrangler tail`, and any
 * collector) index each field instead of parsing prose. Every line has `level` and `msg`; a
 * request's line also has `requestId`, which its problem+json answer carries too.
 */

export type LogLevel = "info" | "warn" | "error";

/** Fields of a log line besides `level` and `msg`. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** An error as a log line shows it: its message, and its stack when it has one. */
function describeError(error: unknown): LogFields {
  if (error instanceof Error) return { error: `${error.name}: ${error.message}`, stack: error.stack };
  return { error: String(error) };
}

/**
 * Writes one JSON line. `error`, when given, adds its message and stack. Fields that are
 * `undefined` are left out.
 *
 * @example
 * logLine("info", "request", { requestId, method: "GET", path: "/v1/topics", status: 200, ms: 3 });
 * logLine("error", "route failed to forward", { topic: "orders", route: "eu" }, error);
 */
export function logLine(level: LogLevel, msg: string, fields: LogFields = {}, error?: unknown): void {
  const line = JSON.stringify({
    level,
    msg,
    ...fields,
    ...(error === undefined ? {} : describeError(error)),
  });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
