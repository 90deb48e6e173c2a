/**
 * The README's Worker that publishes with `env.BROKER.publish(...)`, run as written inside
 * workerd (vitest.config.ts reads it from README.md), bound to the broker's `Broker` entrypoint
 * as the README's `services` line binds it: its answer is the seq the message got, and the
 * message is in the log with the key the snippet gives it.
 */
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { readAll } from "./http-support";

const worker = (env as unknown as { README_WORKER: Fetcher }).README_WORKER;

it("the README's Worker publishes through the Broker entrypoint and answers the seq", async () => {
  const order = { id: crypto.randomUUID(), items: 3 };
  const res = await worker.fetch("https://orders.example/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(order),
  });
  expect(res.status).toBe(200);
  const { seq } = (await res.json()) as { seq: number };
  expect(seq).toEqual(expect.any(Number));
  const message = (await readAll("orders")).find((m) => m.seq === seq);
  expect(message).toMatchObject({ seq, key: "customer-7", contentType: "application/json", data: order });
});
