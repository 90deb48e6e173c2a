import { Hono } from "hono";
import { listTopicsQuerySchema, topicPutSchema } from "../../protocol/http";
import type { TopicConfigPatch } from "../../topic/types";
import type { BrokerEnv } from "../app";
import { methodNotAllowed, unwrap } from "../errors";
import { bodyInput, nameParam, queryInput } from "../input";

/** The one Registry Durable Object that catalogues every topic. */
const REGISTRY_NAME = "global";

/** `/v1/topics` and `/v1/topics/{topic}`: the catalogue and each topic's config and stats. */
export const topicRoutes = new Hono<BrokerEnv>();

topicRoutes.get("/", async (c) => {
  const { prefix, cursor, limit } = queryInput(c, listTopicsQuerySchema);
  const registry = c.env.REGISTRY.getByName(REGISTRY_NAME);
  const page = await registry.list({ limit, ...(prefix && { prefix }), ...(cursor && { cursor }) });
  return c.json({ topics: page.topics, cursor: page.cursor });
});
topicRoutes.all("/", methodNotAllowed("GET"));

topicRoutes.put("/:topic", async (c) => {
  const topic = nameParam(c, "topic");
  const patch: TopicConfigPatch = await bodyInput(c, topicPutSchema);
  const { created, topic: info } = unwrap(await c.env.TOPIC.getByName(topic).putConfig(topic, patch));
  if (created) c.header("Location", `/v1/topics/${topic}`);
  return c.json(info, created ? 201 : 200);
});

topicRoutes.get("/:topic", async (c) => {
  const topic = nameParam(c, "topic");
  return c.json(unwrap(await c.env.TOPIC.getByName(topic).info()));
});

topicRoutes.delete("/:topic", async (c) => {
  const topic = nameParam(c, "topic");
  unwrap(await c.env.TOPIC.getByName(topic).destroy());
  return c.body(null, 204);
});
topicRoutes.all("/:topic", methodNotAllowed("GET", "PUT", "DELETE"));
