/** The one Registry Durable Object that catalogues every topic (`env.REGISTRY.getByName(…)`). */
export const REGISTRY_NAME = "global";

/** A topic as the catalogue lists it. */
export interface TopicListing {
  name: string;
  createdAt: number;
}
