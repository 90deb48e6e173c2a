/**
 * The worker's entry point: the HTTP API as the default export, and the Durable Object classes
 * that wrangler.toml binds by name.
 */
import { app } from "./http/app";

export { Inbox } from "./inbox/inbox";
export { Registry } from "./registry/registry";
export { Topic } from "./topic/topic";

export default app;
