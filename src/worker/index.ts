/**
 * `edge-broker/worker`: the types of the broker's RPC entrypoint, for a Worker bound to it
 * (types only: the entrypoint itself runs in the broker's Worker). The binding's type comes from
 * the Workers runtime types (`wrangler types` or `@cloudflare/workers-types`): `Service<Broker>`.
 *
 * @example
 * // wrangler.toml: services = [{ binding = "BROKER", service = "edge-broker", entrypoint = "Broker" }]
 * import type { Broker } from "edge-broker/worker";
 *
 * interface Env {
 *   BROKER: Service<Broker>;
 * }
 *
 * export default {
 *   async fetch(request: Request, env: Env) {
 *     const { seq } = await env.BROKER.publish("orders", await request.json(), { key: "customer-7" });
 *     return Response.json({ seq });
 *   },
 * } satisfies ExportedHandler<Env>;
 */
import type { BrokerRpc } from "../protocol/broker-rpc.js";

export type * from "../protocol/broker-rpc.js";

/**
 * The `Broker` entrypoint as a service binding sees it: its methods, branded as a
 * `WorkerEntrypoint` so that `Service<Broker>` types `env.BROKER` as an RPC stub of them.
 */
export type Broker = BrokerRpc & Rpc.WorkerEntrypointBranded;
