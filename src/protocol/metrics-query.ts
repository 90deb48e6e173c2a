import { integerParam } from "./fields";
import { listTopicsQuerySchema } from "./http";

/** How much one scrape of `/v1/metrics` may wake and answer. */
export const METRICS_LIMITS = {
  /** Topics on a page unless `limit` says otherwise. */
  defaultTopics: 50,
  /** Most topics on a page: each is one call to its object. */
  maxTopics: 100,
  /**
   * Subscriptions on a page past which no further topic is added (the first topic always is):
   * about 17 series each, so a page stays under about 100,000 lines.
   */
  subscriptions: 5_000,
} as const;

/** `GET /v1/metrics` query: a page of the topics under `prefix`, after `cursor`. */
export const metricsQuerySchema = listTopicsQuerySchema.extend({
  limit: integerParam(1, METRICS_LIMITS.maxTopics).default(METRICS_LIMITS.defaultTopics),
});
