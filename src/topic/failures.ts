import { fail } from "../protocol/errors";

/** The expected failures of a topic's RPC methods, in one wording each. */
export const noTopic = () => fail("not_found", "topic does not exist");

export const noSubscription = (name: string) => fail("not_found", `subscription ${name} does not exist`);

export const tooManyPolls = (limit: number) =>
  fail("rate_limited", `a topic holds at most ${limit} parked long-polls; retry shortly, or poll less often`);
