import type { AuthVariables } from "../auth/middleware";
import type { RequestLogVariables } from "./middleware/request-log";

/**
 * Hono's environment for every route: the bindings of wrangler.toml, who is calling (set by
 * `auth()`) and the request's id (set by `requestLog()`). Routes import it from here, never from
 * the app that mounts them.
 */
export interface BrokerEnv {
  Bindings: Env;
  Variables: AuthVariables & RequestLogVariables;
}
