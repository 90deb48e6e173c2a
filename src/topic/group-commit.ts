import { fail, type Result } from "../protocol/errors";
import { logLine } from "../protocol/log";
import type { PublishInput, PublishReceipt } from "../protocol/topic-rpc";

/** One publish request: a batch, stored atomically. */
export type Publish = PublishInput[];

type Outcome = Result<PublishReceipt[]>;

/**
 * Group commit: publishes that arrive together are handed to `write` as one group, which
 * stores them in one transaction, so throughput is not one commit (and one fsync) per
 * publish. A zero timer gathers the group: publishes already queued for the object
 * join it. Each caller gets its own publish's outcome; a `write` that throws answers
 * every publish of its group with `internal`.
 *
 * @example
 * const commits = new GroupCommit((group) => writeInOneTransaction(group));
 * const result = await commits.add(messages);
 */
export class GroupCommit {
  readonly #write: (group: Publish[]) => Promise<Outcome[]>;
  #pending: { publish: Publish; resolve: (outcome: Outcome) => void }[] = [];
  #scheduled = false;

  constructor(write: (group: Publish[]) => Promise<Outcome[]>) {
    this.#write = write;
  }

  add(publish: Publish): Promise<Outcome> {
    return new Promise((resolve) => {
      this.#pending.push({ publish, resolve });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setTimeout(() => void this.#flush(), 0);
    });
  }

  async #flush(): Promise<void> {
    const group = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    let outcomes: Outcome[];
    try {
      outcomes = await this.#write(group.map(({ publish }) => publish));
    } catch (error) {
      logLine("error", "publish transaction failed", {}, error);
      outcomes = group.map(() => fail("internal", "the message could not be stored; retry"));
    }
    for (const [i, { resolve }] of group.entries()) resolve(outcomes[i] as Outcome);
  }
}
