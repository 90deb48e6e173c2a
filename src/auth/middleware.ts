import type { MiddlewareHandler } from "hono";
import type { ErrorCode } from "../protocol/errors";
import { isValidName } from "../protocol/names";
import { problemResponse } from "../protocol/problem";
import { CLOSE_CODES } from "../protocol/ws-frames";
import { isWebSocketUpgrade } from "../protocol/ws-handshake";
import { can, canEverywhere, OPEN_PRINCIPAL, type Principal, type Right } from "./capabilities";
import { readAuthConfig } from "./config";
import { findToken } from "./credentials";
import { isOriginAllowed } from "./origin";
import { refuseSocket } from "./refuse-socket";
import { authenticate, verifierFor } from "./tokens";

/** What {@link auth} puts on the context. */
export interface AuthVariables {
  /** Who is calling; the open principal (every right) when the broker runs with `AUTH=off`. */
  principal: Principal;
}

/** The Hono env of an app that mounts {@link auth}. */
export interface AuthEnv {
  Bindings: Env;
  Variables: AuthVariables;
}

const REALM = 'Bearer realm="edge-broker"';

function refuse(code: ErrorCode, detail: string, challenge: string | null): Response {
  return problemResponse(
    code,
    detail,
    challenge === null ? {} : { headers: { "WWW-Authenticate": challenge } },
  );
}

/**
 * Refuses a request: problem+json, or for a WebSocket upgrade a socket closed with 1008 (see
 * `refuseSocket`). Origin refusals stay plain 403s: a foreign page is told nothing.
 */
function refuseRequest(
  request: Request,
  code: ErrorCode,
  detail: string,
  challenge: string | null,
): Response {
  return isWebSocketUpgrade(request)
    ? refuseSocket(request, CLOSE_CODES.POLICY, code, detail)
    : refuse(code, detail, challenge);
}

/**
 * Authenticates every request it sees, failing closed: a broker without credentials
 * configured, a missing or invalid token, or (for WebSocket upgrades, when
 * ALLOWED_ORIGINS is set) a foreign `Origin` is answered with problem+json and the
 * handler never runs. On success the principal is on the context.
 *
 * @example
 * const app = new Hono<AuthEnv>();
 * app.get("/healthz", (c) => c.text("ok"));   // before: stays public
 * app.use("/v1/*", auth());
 * app.post("/v1/topics/:topic/messages", requireRight("publish"), publish);
 */
export function auth(): MiddlewareHandler<AuthEnv> {
  return async function auth(c, next) {
    const config = readAuthConfig(c.env);
    if (config.refusal !== null) return refuseRequest(c.req.raw, "unauthorized", config.refusal, REALM);
    // Keys are imported before any credential is looked at, so an unusable public key
    // refuses every request (admin key included) rather than only the tokens it signs.
    const keys = await verifierFor(config);
    if (!keys.ok) return refuseRequest(c.req.raw, "unauthorized", keys.detail, REALM);

    if (
      isWebSocketUpgrade(c.req.raw) &&
      !isOriginAllowed(c.req.header("Origin") ?? null, config.allowedOrigins)
    ) {
      return refuse(
        "forbidden",
        "this Origin may not open WebSockets on this broker (ALLOWED_ORIGINS)",
        null,
      );
    }

    if (config.mode === "off") {
      c.set("principal", OPEN_PRINCIPAL);
      return next();
    }

    const found = findToken(c.req.raw);
    if (found === null) {
      return refuseRequest(
        c.req.raw,
        "unauthorized",
        "missing credentials: send `Authorization: Bearer <token>` (browsers: `?token=` or a `bearer.<token>` WebSocket subprotocol)",
        REALM,
      );
    }
    if (!found.ok) {
      return refuseRequest(c.req.raw, "unauthorized", found.detail, `${REALM}, error="invalid_request"`);
    }

    const result = await authenticate(found.token, config);
    if (!result.ok) {
      return refuseRequest(c.req.raw, "unauthorized", result.detail, `${REALM}, error="invalid_token"`);
    }
    c.set("principal", result.principal);
    return next();
  };
}

/**
 * Refuses with 403 `forbidden` unless the principal holds `right` on the route's `:topic`.
 * On a route without `:topic` (listing topics, minting tokens) the right must hold on
 * every topic, which only a `*` grant gives. Mount it on the route itself, after
 * {@link auth}: route parameters are known only there.
 *
 * @example
 * app.get("/v1/topics/:topic/messages", requireRight("subscribe"), readMessages);
 * app.post("/v1/tokens", requireRight("admin"), mint);
 */
export function requireRight(right: Right): MiddlewareHandler<AuthEnv> {
  return async function requireRight(c, next) {
    const principal = c.get("principal");
    // A route that forgot auth() must not become public: this is a bug, so it throws (500).
    if (principal === undefined) throw new Error(`requireRight("${right}") runs without auth() before it`);
    const topic = c.req.param("topic");
    if (topic === undefined) {
      if (!canEverywhere(principal, right)) {
        return refuseRequest(
          c.req.raw,
          "forbidden",
          `this credential lacks "${right}" on every topic ("*")`,
          null,
        );
      }
    } else if (!can(principal, right, topic)) {
      const named = isValidName(topic) ? ` "${topic}"` : "";
      return refuseRequest(c.req.raw, "forbidden", `this credential lacks "${right}" on topic${named}`, null);
    }
    return next();
  };
}
