import type { Result } from "../protocol/errors";
import type { TopicMetrics } from "../protocol/topic-rpc";
import { type AnalyticsBaseline, type DataPoint, dataPoints } from "./analytics-points";

/** At most one round of data points per topic this often, and only while it has activity. */
export const ANALYTICS_INTERVAL_MS = 60_000;

/** Where the counters the last data points reported are kept (the object's key-value storage). */
const BASELINE_KEY = "analytics.baseline";

/** The part of an Analytics Engine dataset binding the topic uses. */
export interface Dataset {
  writeDataPoint(point: DataPoint): void;
}

/**
 * Data points to Workers Analytics Engine, when the worker has an `ANALYTICS` dataset binding
 * (README.md, "Analytics Engine"): one round at most every minute while the topic has activity
 * (rows written since the last round), written by the alarm, which this part keeps armed. A topic
 * with nothing going on writes nothing and arms nothing; without the binding, nothing changes.
 *
 * What the last round reported is kept in the object's key-value storage (one write a round), so
 * each round reports what happened since the previous one, across restarts too.
 */
export class TopicAnalytics {
  readonly #dataset: Dataset | undefined;
  readonly #kv: SyncKvStorage;
  readonly #rowsWritten: () => number;
  readonly #metrics: () => Result<TopicMetrics>;
  /** Rows written (since the object started) when the last round was written. */
  #rowsAtLast = 0;
  /** When the last round was written (kept with the baseline); `null` until read. */
  #lastAt: number | null = null;

  constructor(deps: {
    dataset: Dataset | undefined;
    kv: SyncKvStorage;
    rowsWritten: () => number;
    metrics: () => Result<TopicMetrics>;
  }) {
    this.#dataset = deps.dataset;
    this.#kv = deps.kv;
    this.#rowsWritten = deps.rowsWritten;
    this.#metrics = deps.metrics;
  }

  /**
   * When the next round is due: a minute after the last one (at once for the first), and `null`
   * without the binding or while nothing happened since the last round in this object's life.
   */
  dueAt(): number | null {
    if (this.#dataset === undefined || this.#rowsWritten() === this.#rowsAtLast) return null;
    this.#lastAt ??= this.#kv.get<AnalyticsBaseline>(BASELINE_KEY)?.at ?? 0;
    return this.#lastAt === 0 ? Date.now() : this.#lastAt + ANALYTICS_INTERVAL_MS;
  }

  /** Writes a round of data points when one is due. */
  write(now: number): void {
    const due = this.dueAt();
    if (this.#dataset === undefined || due === null || due > now) return;
    const metrics = this.#metrics();
    this.#rowsAtLast = this.#rowsWritten();
    this.#lastAt = now;
    if (!metrics.ok) return;
    const previous = this.#kv.get<AnalyticsBaseline>(BASELINE_KEY) ?? null;
    const { points, baseline } = dataPoints(metrics.value, previous, now);
    for (const point of points) this.#dataset.writeDataPoint(point);
    this.#kv.put(BASELINE_KEY, baseline);
  }
}
