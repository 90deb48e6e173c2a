/**
 * Why a subscription is falling behind, read from its stats and config: the three causes an
 * operator looks for (its consumer is gone, its push receiver is failing, poison messages
 * end in dead letters) and the one an operator may have caused (it is paused).
 *
 * Stats a newer broker adds are read here, in one place, and shown as "—" when absent.
 */
import { ago, count, duration } from "./format.js";

/** Messages per second published to a topic, when the broker reports it. */
export const publishRate = (topicStats) => topicStats?.publishRate;
/** Messages per second delivered by a subscription, when the broker reports it. */
export const deliveryRate = (subscriptionStats) => subscriptionStats?.deliveryRate;
/** Age in ms of the oldest message a subscription has not acked, when the broker reports it. */
export const oldestUnackedAge = (subscriptionStats) => subscriptionStats?.oldestUnackedAge;

/**
 * @typedef {object} Finding
 * @property {"bad" | "warn"} level `bad`: it is why the subscription falls behind
 * @property {string} text one sentence, shown as it is
 */

/**
 * What is wrong with a subscription, worst first; empty when nothing is.
 *
 * @example
 * diagnose({ stats: { backlog: 40, inFlight: 0, consumers: 0, … }, config: { paused: false, push: null } });
 * // [{ level: "bad", text: "no consumer: 40 waiting, none connected or in flight" }]
 */
export function diagnose(subscription, now = Date.now()) {
  const { stats, config } = subscription;
  const findings = [];
  const push = stats.push;
  if (push && push.consecutiveFailures > 0) {
    // lastError says what failed ("HTTP 500", a timeout, a refused connection) when there is one.
    const why = push.lastError ?? (push.lastStatus === null ? "" : `HTTP ${push.lastStatus}`);
    findings.push({
      level: "bad",
      text: `push failing: ${count(push.consecutiveFailures)} in a row${why ? ` (${why}, ${ago(push.lastErrorAt, now)})` : ""}`,
    });
  }
  const isPush = push !== undefined || (config?.push ?? null) !== null;
  if (!isPush && stats.backlog > 0 && stats.consumers === 0 && stats.inFlight === 0) {
    findings.push({
      level: "bad",
      text: `no consumer: ${count(stats.backlog)} waiting, none connected or in flight`,
    });
  }
  if (config?.paused) {
    findings.push({ level: "warn", text: `paused: nothing is delivered while ${count(stats.backlog)} wait` });
  }
  if (stats.deadLettered > 0) {
    const where = config?.deadLetterTopic ? ` to "${config.deadLetterTopic}"` : "";
    findings.push({
      level: "warn",
      text: `${count(stats.deadLettered)} dead-lettered${where} after ${config?.maxAttempts ? `${config.maxAttempts} attempts` : "their attempts"}: poison messages?`,
    });
  }
  if (stats.discarded > 0) {
    findings.push({
      level: "warn",
      text: `${count(stats.discarded)} dropped after their last attempt (no dead-letter topic)`,
    });
  }
  // Redeliveries are a cause only when nothing above explains them.
  if (findings.length === 0 && stats.redelivered > 0 && stats.redelivered >= stats.acked) {
    findings.push({
      level: "warn",
      text: `${count(stats.redelivered)} redelivered, ${count(stats.acked)} acked`,
    });
  }
  const age = oldestUnackedAge(stats);
  if (typeof age === "number" && config && age > config.ackTimeout * 2 && findings.length === 0) {
    findings.push({ level: "warn", text: `oldest unacked message is ${duration(age)} old` });
  }
  return findings;
}

/** How much worse one subscription is than another, for sorting and for a topic's "behind" column. */
export function severity(subscription) {
  const findings = diagnose(subscription);
  const bad = findings.filter((f) => f.level === "bad").length;
  return bad * 1e12 + findings.length * 1e9 + subscription.stats.backlog;
}
