import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Topic } from "../../src/topic/topic";
import { freshTopic, text, topicStub, unwrap } from "./helpers";

describe("without an ANALYTICS binding", () => {
  it("a topic's alarm writes no round of data points and keeps no baseline", async () => {
    expect((env as { ANALYTICS?: unknown }).ANALYTICS).toBeUndefined();
    const name = freshTopic();
    const topic = topicStub(name);
    unwrap(await topic.publish([text("a")]));
    // Whatever is armed runs (at most three times: each run re-arms retention's week-away sweep).
    for (let run = 0; run < 3; run++) await runDurableObjectAlarm(topic);
    const { alarm, baseline } = await runInDurableObject(topic, async (_: Topic, state) => ({
      alarm: await state.storage.getAlarm(),
      baseline: state.storage.kv.get("analytics.baseline"),
    }));
    expect(baseline).toBeUndefined();
    // What is left is retention's, a week ahead: nothing armed for analytics.
    expect((alarm ?? 0) - Date.now()).toBeGreaterThan(6 * 86_400_000);
  });
});
