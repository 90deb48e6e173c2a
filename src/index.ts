/**
 * The worker's entry point: the HTTP API as the default export, the Durable Object classes that
 * wrangler.toml binds by name, and `Broker`, the RPC entrypoint for other Workers' service
 * bindings.
 */
import { app } from "./http/app";

export { Edge } from "./edge/edge";
export { Broker } from "./http/rpc";
export { Inbox } from "./inbox/inbox";
export { Registry } from "./registry/registry";
export { Topic } from "./topic/topic";

export default app;
