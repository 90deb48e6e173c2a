import type { Context } from "hono";
import { can } from "../auth/capabilities";
import type { TopicConfigPatch } from "../protocol/topic-rpc";
import { checkSchema } from "../topic/json-schema";
import { checkTransform } from "../topic/transform";
import { copyLoop } from "./copy-loops";
import type { BrokerEnv } from "./env";
import { ProblemError } from "./errors";

/**
 * What a topic `PUT` must pass beyond the shape of its body, checked before the topic's object
 * is called, so that a refusal writes nothing (DESIGN.md §3, "Routes", "Schemas"):
 *
 * - each route's transform parses, without regular expressions or `$eval`;
 * - no route forwards (or dead-letters) into the topic itself, nor around a loop back to it;
 * - the credential may publish to each route's target and dead-letter topic, since the broker
 *   publishes there on its behalf;
 * - the schema is JSON Schema 2020-12 and its refs resolve within it.
 *
 * @example
 * await checkTopicConfig(c, "orders", patch); // throws ProblemError (400 or 403) when it must not pass
 */
export async function checkTopicConfig(
  c: Context<BrokerEnv>,
  topic: string,
  patch: TopicConfigPatch,
): Promise<void> {
  const invalid = (detail: string) => new ProblemError("invalid_request", detail);
  if (patch.schema !== undefined && patch.schema !== null) {
    const problem = checkSchema(patch.schema);
    if (problem !== null) throw invalid(`schema ${problem}`);
  }
  for (const [i, route] of (patch.routes ?? []).entries()) {
    const at = `routes[${i}]`;
    if (route.transform !== null) {
      const problem = checkTransform(route.transform);
      if (problem !== null) throw invalid(`${at}.transform ${problem}`);
    }
    const targets: [string, string][] = [[`${at}.to`, route.to]];
    if (route.deadLetterTopic !== null) targets.push([`${at}.deadLetterTopic`, route.deadLetterTopic]);
    for (const [field, target] of targets) {
      if (target === topic) throw invalid(`${field} must not be the route's own topic`);
      if (!can(c.get("principal"), "publish", target)) {
        throw new ProblemError("forbidden", `this credential lacks "publish" on ${field} "${target}"`);
      }
    }
  }
  for (const [i, route] of (patch.routes ?? []).entries()) {
    for (const target of [route.to, route.deadLetterTopic]) {
      if (target === null) continue;
      const loop = await copyLoop(c.env, topic, target);
      if (loop) {
        throw invalid(
          `routes[${i}] leads back to "${topic}" (${loop.join(" → ")}): messages would go round for ever`,
        );
      }
    }
  }
}
