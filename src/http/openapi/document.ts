import * as z from "zod";
import { ERROR_CODES } from "../../protocol/errors";
import { NAME_PATTERN } from "../../protocol/names";
import { VERSION } from "../../protocol/version";
import { type Access, OPERATIONS, type Operation } from "./operations";

type Json = Record<string, unknown>;

/** The body of every refusal (problem+json, RFC 9457), as zod says it. */
const problemSchema = z
  .object({
    type: z.string().meta({ description: "a URL naming the code" }),
    title: z.string(),
    status: z.int(),
    detail: z.string().meta({ description: "what was wrong, in a sentence" }),
    code: z.enum(ERROR_CODES).meta({ description: "stable: what a program tests" }),
    requestId: z
      .string()
      .meta({ description: "the request's id, as in the broker's log line and `Request-Id`" }),
    errors: z
      .array(z.object({ path: z.string(), reason: z.string(), index: z.int().optional() }))
      .optional()
      .meta({ description: "each reason of a `schema_violation`" }),
  })
  .meta({ description: "application/problem+json (RFC 9457)" });

const TAGS = [
  { name: "Topics", description: "Topics: config, stats and the catalogue." },
  { name: "Messages", description: "Publishing and reading the log." },
  { name: "Subscriptions", description: "Subscriptions: config, stats, and the pull consumer's verbs." },
  {
    name: "Streams",
    description: "WebSocket endpoints (subprotocol `edge-broker.v1`; frames in the README).",
  },
  { name: "Requests", description: "Request/reply." },
  { name: "Broker", description: "The broker itself: health, this document, metrics, tokens." },
];

const ACCESS: Record<Access, string> = {
  publish: "Needs `publish` on the topic.",
  subscribe: "Needs `subscribe` on the topic.",
  admin: "Needs `admin` on the topic.",
  "admin everywhere": "Needs `admin` on every topic (`*`).",
  credential: "Needs a valid credential.",
  public: "Needs no credential.",
};

const PATH_PARAMETERS: Record<string, Json> = {
  topic: { type: "string", pattern: NAME_PATTERN, description: "a topic name" },
  sub: { type: "string", pattern: NAME_PATTERN, description: "a subscription name" },
  replyTo: { type: "string", description: "an inbox (`_reply.…`) or a topic name" },
};

/** A schema as OpenAPI 3.1 embeds it: JSON Schema 2020-12, which is its dialect already. */
function embedded(schema: Json): Json {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

/** The query parameters of a route, from its zod schema: one parameter per property. */
function queryParameters(schema: z.ZodObject): Json[] {
  const json = z.toJSONSchema(schema, { io: "input" }) as Json;
  const properties = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...shape } = property;
    return { name, in: "query", required: required.has(name), description, schema: shape };
  });
}

function headerParameters(headers: NonNullable<Operation["headers"]>): Json[] {
  return headers.map(({ name, description, schema }) => ({
    name,
    in: "header",
    required: false,
    description,
    schema: schema ? embedded(z.toJSONSchema(schema, { io: "input" }) as Json) : { type: "string" },
  }));
}

const problemRef = { $ref: "#/components/responses/Problem" };

/** The refusals an operation can answer, each problem+json. */
function refusals(op: Operation): Json {
  const out: Json = {};
  if (op.query || op.body || op.path.includes("{")) out["400"] = problemRef;
  if (op.access !== "public") out["401"] = problemRef;
  if (op.access !== "public" && op.access !== "credential") out["403"] = problemRef;
  if (op.path.includes("{topic}")) out["404"] = problemRef;
  if (op.body === "raw") out["413"] = problemRef;
  out.default = problemRef;
  return out;
}

function operationObject(op: Operation): Json {
  const pathNames = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const parameters = [
    ...pathNames.map((name) => ({ name, in: "path", required: true, schema: PATH_PARAMETERS[name] })),
    ...(op.query ? queryParameters(op.query) : []),
    ...(op.headers ? headerParameters(op.headers) : []),
  ];
  const responses: Json = {};
  for (const answer of op.answers) {
    const media =
      answer.status === 101 || answer.status === 204 ? [] : (answer.media ?? ["application/json"]);
    const content = Object.fromEntries(media.map((type) => [type, {}]));
    responses[String(answer.status)] = {
      description: answer.description,
      ...(media.length > 0 ? { content } : {}),
    };
  }
  Object.assign(responses, refusals(op));
  const object: Json = {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    description: [op.description, ACCESS[op.access]].filter(Boolean).join("\n\n"),
    ...(parameters.length > 0 ? { parameters } : {}),
    responses,
  };
  if (op.access === "public") object.security = [];
  if (op.body === "raw") {
    object.requestBody = {
      required: true,
      description:
        "the message's bytes, stored exactly, under their `Content-Type` (default `application/octet-stream`)",
      content: { "*/*": { schema: {} } },
    };
  } else if (op.body) {
    object.requestBody = {
      required: true,
      content: { "application/json": { schema: { $ref: `#/components/schemas/${op.body.name}` } } },
    };
  }
  return object;
}

/** The component schemas: every JSON body, and the problem, each as zod converts it. */
function componentSchemas(): Json {
  const registry = z.registry<{ id: string }>();
  for (const op of OPERATIONS) {
    if (op.body && op.body !== "raw" && !registry.has(op.body.schema))
      registry.add(op.body.schema, { id: op.body.name });
  }
  registry.add(problemSchema, { id: "Problem" });
  const { schemas } = z.toJSONSchema(registry, {
    io: "input",
    uri: (id) => `#/components/schemas/${id}`,
  }) as {
    schemas: Record<string, Json>;
  };
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, embedded(schema)]));
}

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the operations table and the zod
 * schemas the routes validate with. `/ds` (Durable Streams) is another protocol with its own
 * specification, and is not in it.
 *
 * @example
 * app.get("/v1/openapi.json", (c) => c.json(openApiDocument()));
 */
export function openApiDocument(): Json {
  const paths: Record<string, Json> = {};
  for (const op of OPERATIONS) {
    paths[op.path] ??= {};
    (paths[op.path] as Json)[op.method] = operationObject(op);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-broker",
      version: VERSION,
      description:
        "A durable message broker on Cloudflare Durable Objects. Durations are milliseconds or text such as `30s`; times are epoch milliseconds. Every refusal is `application/problem+json` with a stable `code`.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "/", description: "this broker" }],
    security: [{ bearer: [] }, { token: [] }],
    tags: TAGS,
    paths,
    components: {
      schemas: componentSchemas(),
      responses: {
        Problem: {
          description: "refused: the problem, with a stable `code`",
          content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
        },
      },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "The admin key, or a token (JWT) whose `cap` claim grants rights on topic patterns.",
        },
        token: {
          type: "apiKey",
          in: "query",
          name: "token",
          description: "A token as `?token=`, for browsers' EventSource and WebSocket.",
        },
      },
    },
  };
}
