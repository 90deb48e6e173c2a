import { Hono } from "hono";
import { can, visiblePatterns } from "../../auth/capabilities";
import { requireRight } from "../../auth/middleware";
import { listTopicsQuerySchema, topicPutSchema } from "../../protocol/http";
import { REGISTRY_NAME, type TopicListQuery } from "../../protocol/registry";
import type { TopicConfigPatch } from "../../protocol/topic-rpc";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, unwrap } from "../errors";
import { bodyInput, nameParam, queryInput } from "../input";
import { callTopic } from "../topic-call";
import { checkTopicConfig } from "../topic-config-checks";
import { topicView } from "../views";

/** `/v1/topics` and `/v1/topics/{topic}`: the catalogue and each topic's config and stats. */
export const topicRoutes = new Hono<BrokerEnv>();

/**
 * Lists topics by name. A scoped token sees only the topics it holds some right on: the
 * Registry pages over those alone, so no page or cursor names another.
 */
topicRoutes.get("/", async (c) => {
  const { prefix, cursor, limit } = queryInput(c, listTopicsQuerySchema);
  const query: TopicListQuery = { limit };
  if (prefix) query.prefix = prefix;
  if (cursor) query.cursor = cursor;
  const visibleTo = visiblePatterns(c.get("principal"));
  if (visibleTo !== null) query.visibleTo = visibleTo;
  return c.json(await c.env.REGISTRY.getByName(REGISTRY_NAME).list(query));
});
topicRoutes.all("/", methodNotAllowed("GET"));

topicRoutes.put("/:topic", requireRight("admin"), async (c) => {
  const topic = nameParam(c, "topic");
  const patch: TopicConfigPatch = await bodyInput(c, topicPutSchema);
  await checkTopicConfig(c, topic, patch);
  const { created, topic: info } = unwrap(await callTopic(c.env, topic, (t) => t.putConfig(patch)));
  if (created) c.header("Location", `/v1/topics/${topic}`);
  return c.json(info, created ? 201 : 200);
});

/** Stats for every reader; config and usage only for those who may change the topic. */
topicRoutes.get("/:topic", requireRight("subscribe"), async (c) => {
  const topic = nameParam(c, "topic");
  const info = unwrap(await callTopic(c.env, topic, (t) => t.info()));
  return c.json(topicView(info, can(c.get("principal"), "admin", topic)));
});

topicRoutes.delete("/:topic", requireRight("admin"), async (c) => {
  const topic = nameParam(c, "topic");
  unwrap(await callTopic(c.env, topic, (t) => t.destroy(), { idempotent: false }));
  return c.body(null, 204);
});
topicRoutes.all("/:topic", methodNotAllowed("GET", "PUT", "DELETE"));
