import { Hono } from "hono";
import type { BrokerEnv } from "../env";
import { methodNotAllowed } from "../errors";
import { openApiDocument } from "../openapi/document";

/** Built once per isolate: it depends on the code alone. */
let document: string | null = null;

/**
 * `GET /v1/openapi.json`: the API's OpenAPI 3.1 document, generated from the zod schemas the
 * routes validate with (../openapi/document.ts). Public, like `/healthz`: it describes the API and
 * holds nothing of a deployment's, and `/docs` (a static page) reads it without a credential.
 */
export const openApiRoutes = new Hono<BrokerEnv>();

openApiRoutes.get("/openapi.json", (c) => {
  document ??= JSON.stringify(openApiDocument());
  return c.body(document, 200, {
    "Content-Type": "application/json",
    "Cache-Control": "public, max-age=300",
  });
});
openApiRoutes.all("/openapi.json", methodNotAllowed("GET"));
