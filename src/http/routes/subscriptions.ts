import { Hono } from "hono";
import { can } from "../../auth/capabilities";
import { requireRight } from "../../auth/middleware";
import {
  ackSchema,
  extendSchema,
  nackSchema,
  pullSchema,
  seekSchema,
  subscriptionPutSchema,
} from "../../protocol/http-consumers";
import type { SubscriptionConfigPatch } from "../../protocol/topic-rpc";
import { copyLoop } from "../copy-loops";
import type { BrokerEnv } from "../env";
import { methodNotAllowed, ProblemError, unwrap } from "../errors";
import { bodyInput, nameParam } from "../input";
import { checkPushTarget } from "../push-endpoint";
import { callTopic } from "../topic-call";
import { subscriptionView } from "../views";

/** `/v1/topics/{topic}/subscriptions/…`: config, stats, and the pull consumer's verbs. */
export const subscriptionRoutes = new Hono<BrokerEnv>();

const SUBSCRIPTION = "/:topic/subscriptions/:sub";

/** Stats for every reader; each subscription's config only for those who may change it. */
subscriptionRoutes.get("/:topic/subscriptions", requireRight("subscribe"), async (c) => {
  const topic = nameParam(c, "topic");
  const listing = unwrap(await callTopic(c.env, topic, (t) => t.listSubscriptions()));
  const admin = can(c.get("principal"), "admin", topic);
  return c.json({ ...listing, subscriptions: listing.subscriptions.map((s) => subscriptionView(s, admin)) });
});
subscriptionRoutes.all("/:topic/subscriptions", methodNotAllowed("GET"));

subscriptionRoutes.put(SUBSCRIPTION, requireRight("admin"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  const patch: SubscriptionConfigPatch = await bodyInput(c, subscriptionPutSchema);
  // A receiver the broker must not call is refused here, and again before every delivery.
  checkPushTarget(c.env, patch.push, new URL(c.req.url).host);
  // A dead letter published back into its own topic would come round again for ever.
  if (patch.deadLetterTopic === topic) {
    throw new ProblemError("invalid_request", "deadLetterTopic must not be the subscription's own topic");
  }
  // Dead letters are published by the broker on the subscriber's behalf: it must hold that right.
  if (patch.deadLetterTopic && !can(c.get("principal"), "publish", patch.deadLetterTopic)) {
    throw new ProblemError(
      "forbidden",
      `this credential lacks "publish" on deadLetterTopic "${patch.deadLetterTopic}"`,
    );
  }
  // A loop of dead-letter topics (or routes) would bounce a message until its hop count ran out.
  if (patch.deadLetterTopic) {
    const loop = await copyLoop(c.env, topic, patch.deadLetterTopic);
    if (loop) {
      throw new ProblemError(
        "invalid_request",
        `deadLetterTopic "${patch.deadLetterTopic}" leads back to "${topic}" (${loop.join(" → ")}): dead letters would go round for ever`,
      );
    }
  }
  const result = unwrap(await callTopic(c.env, topic, (t) => t.putSubscription(sub, patch)));
  if (result.created) c.header("Location", `/v1/topics/${topic}/subscriptions/${sub}`);
  // A push subscription's signing secret is answered once, to the admin who made it, never again.
  const answer = result.secret ? { ...result.subscription, secret: result.secret } : result.subscription;
  return c.json(answer, result.created ? 201 : 200);
});

subscriptionRoutes.get(SUBSCRIPTION, requireRight("subscribe"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  const info = unwrap(await callTopic(c.env, topic, (t) => t.getSubscription(sub)));
  return c.json(subscriptionView(info, can(c.get("principal"), "admin", topic)));
});

subscriptionRoutes.delete(SUBSCRIPTION, requireRight("admin"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  unwrap(await callTopic(c.env, topic, (t) => t.deleteSubscription(sub), { idempotent: false }));
  return c.body(null, 204);
});
subscriptionRoutes.all(SUBSCRIPTION, methodNotAllowed("GET", "PUT", "DELETE"));

/** Leases up to `max` messages, long-polling up to `wait` when none is ready. */
subscriptionRoutes.post(`${SUBSCRIPTION}/pull`, requireRight("subscribe"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  const options = await bodyInput(c, pullSchema);
  return c.json(unwrap(await callTopic(c.env, topic, (t) => t.pull(sub, options), { idempotent: false })));
});

subscriptionRoutes.post(`${SUBSCRIPTION}/ack`, requireRight("subscribe"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  const input = await bodyInput(c, ackSchema);
  return c.json(unwrap(await callTopic(c.env, topic, (t) => t.ack(sub, input))));
});

subscriptionRoutes.post(`${SUBSCRIPTION}/nack`, requireRight("subscribe"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  const input = await bodyInput(c, nackSchema);
  return c.json(unwrap(await callTopic(c.env, topic, (t) => t.nack(sub, input))));
});

subscriptionRoutes.post(`${SUBSCRIPTION}/extend`, requireRight("subscribe"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  const input = await bodyInput(c, extendSchema);
  return c.json(unwrap(await callTopic(c.env, topic, (t) => t.extend(sub, input))));
});

subscriptionRoutes.post(`${SUBSCRIPTION}/seek`, requireRight("subscribe"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  const { to } = await bodyInput(c, seekSchema);
  return c.json(unwrap(await callTopic(c.env, topic, (t) => t.seek(sub, to))));
});

/** Acks at once everything published so far that the subscription has not acked. */
subscriptionRoutes.post(`${SUBSCRIPTION}/purge`, requireRight("admin"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  return c.json(unwrap(await callTopic(c.env, topic, (t) => t.purge(sub), { idempotent: false })));
});

/** Gives the subscription's dead letters back to it, each once; `more` says to call again. */
subscriptionRoutes.post(`${SUBSCRIPTION}/redrive`, requireRight("admin"), async (c) => {
  const topic = nameParam(c, "topic");
  const sub = nameParam(c, "sub");
  return c.json(unwrap(await callTopic(c.env, topic, (t) => t.redrive(sub))));
});

for (const verb of ["pull", "ack", "nack", "extend", "seek", "purge", "redrive"]) {
  subscriptionRoutes.all(`${SUBSCRIPTION}/${verb}`, methodNotAllowed("POST"));
}
