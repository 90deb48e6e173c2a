import * as z from "zod";
import { type FilterPattern, parseFilter } from "./filter-pattern";

/**
 * A subscription's or route's `filter` in a config `PUT`: a pattern the topic can compile, or
 * `null` for none. A refusal names the part that is wrong: `filter.data.total[0] must be …`.
 *
 * @example
 * parseInput(z.object({ filter: filterSchema }), { filter: { attributes: { region: "eu" } } });
 */
export const filterSchema = z
  .unknown()
  .transform((value, ctx): FilterPattern | null => {
    if (value === null) return null;
    const parsed = parseFilter(value);
    if (parsed.ok) return value as FilterPattern;
    ctx.issues.push({ code: "custom", input: value, path: parsed.error.path, message: parsed.error.message });
    return z.NEVER;
  })
  .meta({
    description:
      'a filter pattern over attributes and the JSON body (`{"attributes": {…}, "data": {…}, "$or": […]}`), or null',
    type: ["object", "null"],
  });
