import type * as z from "zod";

/** Who may call an operation: a right on the path's topic (or on every topic), any credential, anyone. */
export type Access = "publish" | "subscribe" | "admin" | "admin everywhere" | "credential" | "public";

/** What a success answers. */
export interface Answer {
  status: number;
  description: string;
  /** Media types of the body; JSON when omitted, none for 101 and 204. */
  media?: string[];
}

/**
 * One operation of the API: its path as OpenAPI writes it (`{topic}`), and the zod schemas its
 * route validates with. The document (./document.ts) is generated from this table and those
 * schemas; test/worker/openapi.test.ts holds the table to the routes the app serves.
 */
export interface Operation {
  method: "get" | "put" | "post" | "delete";
  path: string;
  id: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  query?: z.ZodObject;
  /** A JSON body, by the name of its component schema; or a raw body of any media type. */
  body?: { name: string; schema: z.ZodType } | "raw";
  /** Headers the route reads, by the zod schema it checks them with (or none: described only). */
  headers?: { name: string; description: string; schema?: z.ZodType }[];
  answers: Answer[];
}
