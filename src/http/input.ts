import type { Context } from "hono";
import type * as z from "zod";
import { CONTROL_BODY_BYTES, NAME_RULE, parseInput } from "../protocol/http";
import { isValidName } from "../protocol/names";
import { readJsonBody } from "./body";
import { ProblemError, unwrap } from "./errors";

/**
 * A topic or subscription name from the path, checked against `NAME_RE` (`invalid_name`, 400).
 * Hono has already percent-decoded it, so `a%2Fb` is refused as `a/b`.
 *
 * @example
 * const topic = nameParam(c, "topic");
 */
export function nameParam(c: Context, param: "topic" | "sub"): string {
  const value = c.req.param(param) ?? "";
  if (isValidName(value)) return value;
  const what = param === "topic" ? "topic" : "subscription";
  throw new ProblemError(
    "invalid_name",
    `${JSON.stringify(value)} is not a valid ${what} name: use ${NAME_RULE}`,
  );
}

/**
 * The query string validated by `schema`. Unknown parameters are ignored rather than refused: a
 * query string is shared with things outside the API (an access token, cache busters).
 *
 * @example
 * const { limit, wait } = queryInput(c, readQuerySchema);
 */
export function queryInput<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return unwrap(parseInput(schema, c.req.query(), "query string"));
}

/**
 * The JSON body validated by `schema`, read with a size cap (64 KiB for control requests).
 *
 * @example
 * const { seqs } = await bodyInput(c, ackSchema);
 */
export async function bodyInput<S extends z.ZodType>(
  c: Context,
  schema: S,
  maxBytes: number = CONTROL_BODY_BYTES,
): Promise<z.output<S>> {
  return unwrap(parseInput(schema, await readJsonBody(c.req.raw, maxBytes)));
}
