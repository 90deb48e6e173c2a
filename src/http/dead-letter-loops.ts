import { callTopic } from "./topic-call";

/** Most topics one check looks at: a longer chain is left to the hop count. */
const MAX_VISITS = 64;

/**
 * The chain of dead-letter topics by which messages dead-lettered from `topic` into `target`
 * would come back to `topic` (`[topic, target, …, topic]`), or `null` when none does. It follows
 * the `deadLetterTopic` of every subscription of each topic on the way, breadth first, looking at
 * no more than 64 topics: a loop longer than that (or made by two PUTs racing) is still stopped,
 * by the hop count every copy carries (`broker.hops`, `MAX_HOPS`).
 *
 * @example
 * await deadLetterLoop(c.env, "a", "b"); // ["a", "b", "a"] when a subscription of b dead-letters to a
 */
export async function deadLetterLoop(
  env: Pick<Env, "TOPIC">,
  topic: string,
  target: string,
): Promise<string[] | null> {
  const queue: string[][] = [[topic, target]];
  const seen = new Set([target]);
  for (let visits = 0; queue.length > 0 && visits < MAX_VISITS; visits++) {
    const path = queue.shift() as string[];
    const listed = await callTopic(env, path.at(-1) as string, (t) => t.listSubscriptions());
    if (!listed.ok) continue; // a topic that does not exist yet dead-letters nowhere
    for (const { config } of listed.value.subscriptions) {
      const next = config.deadLetterTopic;
      if (next === null) continue;
      if (next === topic) return [...path, next];
      if (!seen.has(next)) {
        seen.add(next);
        queue.push([...path, next]);
      }
    }
  }
  return null;
}
