import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { readAuthConfig } from "../../auth/config";
import { isOriginAllowed } from "../../auth/origin";
import type { BrokerEnv } from "../env";

/**
 * Lets pages on other origins call the HTTP API from a browser. Credentials are
 * bearer tokens, never cookies, so any origin may be allowed; with
 * ALLOWED_ORIGINS set, only those origins are. Mounted before auth: a preflight
 * carries no token.
 *
 * @example
 * app.use("/v1/*", browserCors());
 */
export function browserCors(
  options: { exposeHeaders?: string[]; allowMethods?: string[] } = {},
): MiddlewareHandler<BrokerEnv> {
  // One handler per allowlist (the auth config is cached per isolate), not one per request.
  let built: { allowed: readonly string[] | null; handler: MiddlewareHandler } | null = null;
  return async function browserCors(c, next) {
    const allowed = readAuthConfig(c.env).allowedOrigins;
    if (built?.allowed !== allowed) {
      const handler = cors({
        origin: (origin) => (allowed === null ? "*" : isOriginAllowed(origin, allowed) ? origin : null),
        allowMethods: options.allowMethods ?? ["GET", "POST", "PUT", "DELETE"],
        exposeHeaders: ["Location", "Retry-After", "Request-Id", "Link", ...(options.exposeHeaders ?? [])],
        maxAge: 600,
      });
      built = { allowed, handler };
    }
    return built.handler(c, next);
  };
}
