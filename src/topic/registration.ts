import { logLine } from "../protocol/log";
import { REGISTRY_NAME } from "../protocol/registry";
import type { TopicStore } from "./store";

/**
 * The topic's entry in the Registry's catalogue (DESIGN.md §1): added when the topic is created,
 * before the request that created it is answered, so a listing right after shows it; retried by
 * the alarm when the Registry could not be reached; removed when the topic is deleted.
 */
export class Registration {
  readonly #registry: () => ReturnType<Env["REGISTRY"]["getByName"]>;
  readonly #store: TopicStore;

  constructor(registry: Env["REGISTRY"], store: TopicStore) {
    this.#registry = () => registry.getByName(REGISTRY_NAME);
    this.#store = store;
  }

  /** Whether the catalogue has the topic (true while there is no topic to list). */
  get done(): boolean {
    return this.#store.meta?.registered ?? true;
  }

  /** Adds the topic to the catalogue; false when the Registry could not be reached. */
  async register(): Promise<boolean> {
    const meta = this.#store.meta;
    if (!meta || meta.registered) return true;
    try {
      await this.#registry().register(meta.name, meta.createdAt);
    } catch (error) {
      logLine("error", "topic could not register; will retry", { topic: meta.name }, error);
      return false;
    }
    if (this.#store.meta === meta) {
      meta.registered = true;
      this.#store.transaction(() => this.#store.log.saveMeta());
    }
    return true;
  }

  /** Removes a deleted topic, best effort: a failure leaves a stale name in the listing. */
  async unregister(name: string, createdAt: number): Promise<void> {
    try {
      await this.#registry().unregister(name, createdAt);
    } catch (error) {
      logLine("error", "topic deleted but not removed from the registry", { topic: name }, error);
    }
  }
}
