/**
 * The `push` object of a subscription `PUT` (DESIGN.md §3, "Push subscriptions"): where and how
 * the broker delivers a push subscription's messages. A patch: what it omits keeps its value, and
 * `null` switches push off (the subscription is pulled again).
 */
import * as z from "zod";
import { boolean, duration, field, integer, oneOf } from "./fields";
import type { PushConfig, PushPatch } from "./topic-rpc";

const SECOND = 1_000;
const DAY = 86_400_000;

/** The defaults of a push config, for what its first `PUT` leaves out. */
export const DEFAULT_PUSH_CONFIG: PushConfig = {
  url: null,
  service: null,
  timeout: 15 * SECOND,
  maxInFlight: 32,
  ratePerSecond: null,
  format: "json",
};

/** How long a rotated secret keeps signing beside the new one, unless `secretGrace` says otherwise. */
export const DEFAULT_SECRET_GRACE_MS = DAY;

/** The name of a service binding, as wrangler.toml declares it. */
export const BINDING_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * `push` in `PUT …/subscriptions/{sub}`. The URL is checked for shape here and for safety by
 * `checkPushUrl` (./push-url.ts), which needs the deployment's policy.
 *
 * @example
 * parseInput(pushPatchSchema, { url: "https://hooks.example.com/orders", timeout: "10s" });
 * // ok({ url: "https://hooks.example.com/orders", timeout: 10000 })
 */
export const pushPatchSchema = z
  .strictObject({
    url: field("must be an https:// URL of at most 2048 characters", (value) =>
      typeof value === "string" && value.length > 0 && value.length <= 2048 ? value : undefined,
    )
      .meta({ type: "string", format: "uri", maxLength: 2048 })
      .optional(),
    service: field("must be the name of a service binding of the broker's worker", (value) =>
      typeof value === "string" && BINDING_RE.test(value) ? value : undefined,
    )
      .meta({ type: "string", pattern: BINDING_RE.source })
      .optional(),
    timeout: duration(100, 60 * SECOND).optional(),
    maxInFlight: integer(1, 1_000).optional(),
    ratePerSecond: field("must be an integer between 1 and 10000, or null", (value) =>
      value === null || (Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= 10_000)
        ? (value as number | null)
        : undefined,
    )
      .meta({ type: ["integer", "null"], minimum: 1, maximum: 10_000 })
      .optional(),
    format: oneOf("json", "raw").optional(),
    rotateSecret: boolean.optional(),
    secretGrace: duration(0, 7 * DAY).optional(),
  })
  .refine((push) => push.url === undefined || push.service === undefined, {
    message: "must have url or service, not both",
  })
  .transform((push): PushPatch => {
    const patch: PushPatch = {};
    for (const [name, value] of Object.entries(push)) {
      if (value !== undefined) Object.assign(patch, { [name]: value });
    }
    return patch;
  });

/**
 * A push config with `patch` applied: naming a `url` drops the `service` and the other way
 * round; the one-off `rotateSecret` and `secretGrace` are not config and stay out.
 *
 * @example
 * mergePush(null, { url: "https://hooks.example.com/" }); // the defaults, with that url
 */
export function mergePush(base: PushConfig | null, patch: PushPatch): PushConfig {
  const { rotateSecret: _rotate, secretGrace: _grace, ...rest } = patch;
  const merged: PushConfig = { ...DEFAULT_PUSH_CONFIG, ...base, ...rest };
  if (rest.url !== undefined) merged.service = null;
  if (rest.service !== undefined) merged.url = null;
  return merged;
}
