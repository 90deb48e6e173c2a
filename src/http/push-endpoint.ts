import { checkPushUrl } from "../protocol/push-url";
import type { PushPatch } from "../protocol/topic-rpc";
import { ProblemError } from "./errors";

/** Bindings of the broker itself: a push to one of them would be a push to the broker. */
const OWN_BINDINGS = new Set(["TOPIC", "REGISTRY", "ASSETS", "PUBLISH_RATE_LIMIT", "CONNECT_RATE_LIMIT"]);

/** `PUSH_ALLOW_PRIVATE=true`: `npm start` sets it, so a receiver on this machine can be tried. */
export const allowsPrivatePush = (env: Env): boolean =>
  env.PUSH_ALLOW_PRIVATE?.trim().toLowerCase() === "true";

/**
 * Refuses a push target the broker must not call, before anything is written: a URL outside
 * the policy of ../protocol/push-url.ts (the broker's own host included), or a service binding
 * the worker does not have. `invalid_push_endpoint` (400) names the rule.
 *
 * @example
 * checkPushTarget(c.env, patch.push, new URL(c.req.url).host);
 */
export function checkPushTarget(env: Env, push: PushPatch | null | undefined, ownHost: string): void {
  if (!push) return;
  if (typeof push.url === "string") {
    const check = checkPushUrl(push.url, { allowPrivate: allowsPrivatePush(env), ownHost });
    if (!check.ok) throw new ProblemError("invalid_push_endpoint", check.detail);
  }
  if (typeof push.service === "string") {
    const binding = (env as unknown as Record<string, unknown>)[push.service] as
      | { fetch?: unknown }
      | undefined;
    if (OWN_BINDINGS.has(push.service) || typeof binding?.fetch !== "function") {
      throw new ProblemError(
        "invalid_push_endpoint",
        `push.service ${push.service} is not a service binding of this worker: declare it in wrangler.toml (services = [{ binding = "${push.service}", service = "…" }])`,
      );
    }
  }
}
