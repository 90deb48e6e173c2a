import { fail, type Result } from "../protocol/errors";
import type { PublishInput, PublishReceipt } from "../protocol/topic-rpc";
import type { Changes } from "./changes";
import { GroupCommit } from "./group-commit";
import type { Registration } from "./registration";
import type { TopicStore } from "./store";

/**
 * Publishing to the topic (DESIGN.md §3): each batch is stored atomically and answered once it
 * is durable; batches that arrive together share one transaction (./group-commit.ts). The first
 * publish creates the topic, and is answered once the Registry lists it.
 */
export class Publishing {
  readonly #name: string;
  readonly #store: TopicStore;
  readonly #changes: Changes;
  readonly #registration: Registration;
  readonly #commits = new GroupCommit((group) => this.#write(group));

  constructor(name: string, store: TopicStore, changes: Changes, registration: Registration) {
    this.#name = name;
    this.#store = store;
    this.#changes = changes;
    this.#registration = registration;
  }

  publish(messages: PublishInput[]): Promise<Result<PublishReceipt[]>> {
    // A closed stream (Durable Streams, ./streams.ts) takes no more messages from any API, nor
    // does one deleted while its forks hold its name.
    const { closed, deleted } = this.#store.stream.current;
    if (closed || deleted) {
      const why = deleted ? "was deleted as a stream" : "is closed as a stream";
      return Promise.resolve(fail("conflict", `the topic ${why}: it takes no more messages`));
    }
    return this.#commits.add(messages);
  }

  async #write(group: PublishInput[][]): Promise<Result<PublishReceipt[]>[]> {
    const { log, delivery } = this.#store;
    const now = Date.now();
    let created = false;
    const results = this.#store.transaction(() => {
      created = !log.meta;
      this.#store.ensure(this.#name, now);
      // Appends cannot lower it: computed once for the whole group.
      const protectedFrom = delivery.protectedFrom();
      const appended = group.map((messages) =>
        log.append(messages, now, protectedFrom, () => crypto.randomUUID()),
      );
      log.saveCounters();
      // Filtered subscriptions keep a count of what passes their filter (./backlog.ts).
      delivery.backlog.appended(
        group.flatMap((messages, i) => {
          const result = appended[i];
          return result?.ok ? messages.filter((_, j) => !result.value[j]?.duplicate) : [];
        }),
      );
      return appended;
    });
    this.#changes.react();
    if (created) await this.#registration.register();
    return results;
  }
}
