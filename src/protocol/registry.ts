/** The one Registry Durable Object that catalogues every topic (`env.REGISTRY.getByName(…)`). */
export const REGISTRY_NAME = "global";

/** A topic as the catalogue lists it. */
export interface TopicListing {
  name: string;
  createdAt: number;
}

/** What `Registry.list` takes: a page of names in order, after `cursor`, under `prefix`. */
export interface TopicListQuery {
  /** Only names that start with this. */
  prefix?: string;
  /** Only names after this one: the `cursor` of the previous page. */
  cursor?: string;
  /** Most names in the page. */
  limit: number;
  /**
   * The caller's grant patterns (an exact name, or a prefix ending in `*`): only names one of
   * them matches are listed, and paged over, so a page and its cursor never name anything else.
   * Absent for a caller who may see every topic.
   */
  visibleTo?: readonly string[];
}

/** One page of the catalogue. */
export interface TopicPage {
  topics: TopicListing[];
  /** The last name of this page when more may follow; `null` at the end. */
  cursor: string | null;
}
