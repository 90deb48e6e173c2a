import { fail, type Result, type Violation } from "../protocol/errors";
import type { PublishInput, PublishOptions, PublishReceipt } from "../protocol/topic-rpc";
import type { Changes } from "./changes";
import { noTopic } from "./failures";
import { compileFilter, type Filterable } from "./filter";
import { GroupCommit } from "./group-commit";
import { violations } from "./json-schema";
import type { Registration } from "./registration";
import type { TopicStore } from "./store";

/**
 * Publishing to the topic (DESIGN.md §3): each batch is stored atomically and answered once it
 * is durable; batches that arrive together share one transaction (./group-commit.ts). The first
 * publish creates the topic, and is answered once the Registry lists it. A batch that does not fit
 * the topic's schema is refused whole before anything is written (`schema_violation`, every
 * reason listed).
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

  publish(messages: PublishInput[], options: PublishOptions = {}): Promise<Result<PublishReceipt[]>> {
    // A closed stream (Durable Streams, ./streams.ts) takes no more messages from any API, nor
    // does one deleted while its forks hold its name.
    const { closed, deleted } = this.#store.stream.current;
    if (closed || deleted) {
      const why = deleted ? "was deleted as a stream" : "is closed as a stream";
      return Promise.resolve(fail("conflict", `the topic ${why}: it takes no more messages`));
    }
    const meta = this.#store.meta;
    if (!meta && options.ifExists) return Promise.resolve(noTopic());
    const schema = meta?.config.schema ?? null;
    if (schema !== null) {
      const found = violations(schema, messages);
      if (found.length > 0) return Promise.resolve(schemaViolation(found, messages.length));
    }
    if (options.needResponders && !messages.every((message) => this.#hasResponders(message))) {
      const detail = "no subscription's filter (nor any route's) takes this request: nobody could answer it";
      return Promise.resolve(fail("no_responders", detail));
    }
    return this.#commits.add(messages);
  }

  /** Whether some subscription or route of the topic would see the message. */
  #hasResponders(message: PublishInput): boolean {
    const meta = this.#store.meta;
    if (!meta) return false;
    const seen: Filterable = {
      attributes: message.attributes,
      content_type: message.contentType,
      body: message.body,
    };
    const sees = (filter: Parameters<typeof compileFilter>[0]) => compileFilter(filter)?.test(seen) ?? true;
    return (
      this.#store.subscriptions.all().some((s) => sees(s.config.filter)) ||
      meta.config.routes.some((route) => sees(route.filter))
    );
  }

  async #write(group: PublishInput[][]): Promise<Result<PublishReceipt[]>[]> {
    const { log, delivery } = this.#store;
    const now = Date.now();
    let created = false;
    const results = this.#store.transaction(() => {
      created = !log.meta;
      this.#store.ensure(this.#name, now);
      // Appends cannot lower it: computed once for the whole group.
      const protectedFrom = this.#store.protectedFrom();
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

/** The refusal of a publish that does not fit the schema: a sentence, and every reason. */
function schemaViolation(found: Violation[], messages: number) {
  const [first] = found;
  const where = (v: Violation) =>
    `${v.index === undefined ? "" : `messages[${v.index}] `}${v.path || "(the body)"}`;
  const what = messages > 1 ? "the batch does not" : "the message does not";
  const detail = `${what} fit the topic's schema: ${first ? `${where(first)}: ${first.reason}` : ""}${found.length > 1 ? ` (and ${found.length - 1} more, listed in errors)` : ""}`;
  return fail("schema_violation", detail, found);
}
