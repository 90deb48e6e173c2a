/**
 * Latency histograms (HdrHistogram, microsecond resolution) and the medians of repetitions.
 */
import hdr from "hdr-histogram-js";

/** Values are recorded in microseconds; anything above a minute is clamped (and is a failure anyway). */
const MAX_US = 60_000_000;

/** A latency histogram that records milliseconds (as floats) with 3 significant digits. */
export function latencyHistogram() {
  const histogram = hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    numberOfSignificantValueDigits: 3,
  });
  return {
    /** @param {number} ms */
    record(ms) {
      histogram.recordValue(Math.min(MAX_US, Math.max(1, Math.round(ms * 1000))));
    },
    get count() {
      return histogram.totalCount;
    },
    /** Percentiles in milliseconds; null when nothing was recorded. */
    summary() {
      if (histogram.totalCount === 0) return { count: 0, p50: null, p99: null, p999: null, max: null };
      const at = (p) => histogram.getValueAtPercentile(p) / 1000;
      return {
        count: histogram.totalCount,
        p50: at(50),
        p99: at(99),
        p999: at(99.9),
        max: histogram.maxValue / 1000,
      };
    },
  };
}

/** The median of the numbers that are not null; null when there are none. */
export function median(values) {
  const sorted = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Reduces the repetitions of one measurement to the median of each numeric field, keeping the
 * raw repetitions beside it: `{ median: {field: number}, reps: [...] }`.
 */
export function medianOf(reps) {
  const fields = new Set(reps.flatMap((rep) => Object.keys(rep)));
  const result = {};
  for (const field of fields) {
    const values = reps.map((rep) => rep[field]);
    if (values.some((v) => typeof v === "number")) result[field] = median(values);
  }
  return { median: result, reps };
}

/** Appends a repetition's result under `key`. */
export function collect(group, key, value) {
  if (!group[key]) group[key] = [];
  group[key].push(value);
}

/** a / b, or null when either is missing or b is 0. */
export function ratio(a, b) {
  return typeof a === "number" && typeof b === "number" && b !== 0 ? a / b : null;
}
