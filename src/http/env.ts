import type { AuthEnv } from "../auth/middleware";

/**
 * Hono's environment for every route: the bindings of wrangler.toml, and who is calling (set
 * by `auth()`). Routes import it from here, never from the app that mounts them.
 */
export type BrokerEnv = AuthEnv;
