import { callTopic } from "./topic-call";

/** Most topics one check looks at: a longer chain is left to the hop count. */
const MAX_VISITS = 64;

/**
 * The chain of copies by which messages copied from `topic` into `target` would come back to
 * `topic` (`[topic, target, …, topic]`), or `null` when none does. It follows, breadth first,
 * every way a topic copies its messages into another — its subscriptions' dead-letter topics, its
 * routes' targets and their dead-letter topics (`copiesTo` of each topic's object) — looking at
 * no more than 64 topics: a loop longer than that (or made by two PUTs racing) is still stopped,
 * by the hop count every copy carries (`broker.hops`, `MAX_HOPS`).
 *
 * @example
 * await copyLoop(c.env, "a", "b"); // ["a", "b", "a"] when b routes (or dead-letters) to a
 */
export async function copyLoop(
  env: Pick<Env, "TOPIC">,
  topic: string,
  target: string,
): Promise<string[] | null> {
  const queue: string[][] = [[topic, target]];
  const seen = new Set([target]);
  for (let visits = 0; queue.length > 0 && visits < MAX_VISITS; visits++) {
    const path = queue.shift() as string[];
    const copied = await callTopic(env, path.at(-1) as string, (t) => t.copiesTo());
    if (!copied.ok) continue; // a topic that does not exist yet copies nowhere
    for (const next of copied.value) {
      if (next === topic) return [...path, next];
      if (!seen.has(next)) {
        seen.add(next);
        queue.push([...path, next]);
      }
    }
  }
  return null;
}
