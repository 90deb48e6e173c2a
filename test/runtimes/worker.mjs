/**
 * The runtime check inside workerd, the Workers runtime. scripts/check-runtimes.mjs runs this
 * module with Miniflare, with a service binding `BROKER` to a real broker, and posts
 * `{ url, topic, count }` to it.
 *
 * A Worker publishes through the service binding (no public hop), and consumes a subscription
 * and tails the topic over WebSocket with the same SDK. A Worker's sockets live as long as the
 * request that opened them, so this one reads what it needs and answers with what it got.
 */
import { Broker } from "../../dist/client/index.js";

export default {
  async fetch(request, env) {
    const { url, topic, count } = await request.json();
    const viaBinding = new Broker({
      url: "https://broker", // any host: the binding, not DNS, decides where it goes
      fetch: (input, init) => env.BROKER.fetch(input, init),
    });
    const direct = new Broker({ url });

    // The first publish creates the topic, which a live tail needs; the rest arrive live.
    const receipts = [await viaBinding.publish(topic, { n: 1 })];
    const subscription = direct.subscribe(topic, "worker-check", { create: { startAt: "earliest" } });
    const tail = direct.live(topic, { after: 0 });
    for (let n = 2; n <= count; n++) receipts.push(await viaBinding.publish(topic, { n }));

    const consumed = [];
    for await (const message of subscription) {
      consumed.push(message.json().n);
      message.ack();
      if (consumed.length === count) break;
    }
    // Leaving the loop closes the subscription; close() resolves once the broker has the acks.
    await subscription.close();
    const tailed = [];
    for await (const message of tail) {
      tailed.push(message.json().n);
      if (tailed.length === count) break;
    }
    tail.close();
    return Response.json({ published: receipts.map((receipt) => receipt.seq), consumed, tailed });
  },
};
