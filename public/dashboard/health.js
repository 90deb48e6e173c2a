/**
 * Why a subscription is falling behind, read from its stats and config: the three causes an
 * operator looks for (its consumer is gone, its push receiver is failing, poison messages
 * end in dead letters) and the one an operator may have caused (it is paused).
 *
 * Stats a newer broker adds are read here, in one place, and shown as "—" when absent.
 */
import { ago, count, duration, plural } from "./format.js";

/*
 * A broker that measures flow reports it under `flow` (rates averaged over about a minute, the
 * oldest unacked message's age), read here from there or from `stats`; a broker that does not
 * leaves them undefined, shown as "—".
 */
const measured = (info, name) => info?.flow?.[name] ?? info?.stats?.[name];
/** Messages per second published to a topic (its info). */
export const publishRate = (info) => measured(info, "publishRate");
/** Messages per second delivered by a subscription (its info). */
export const deliveryRate = (subscription) => measured(subscription, "deliveryRate");
/** Ms since the oldest message a subscription has not acked was published; `null`: none waits. */
export const oldestUnackedAge = (subscription) => measured(subscription, "oldestUnackedAge");
/** Dead letters not given back yet: reported, or what the counters say. */
export const deadLetterDepth = ({ stats }) =>
  stats.deadLetterDepth ?? Math.max(0, stats.deadLettered - stats.redriven);

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
  const depth = deadLetterDepth(subscription);
  if (depth > 0) {
    const where = config?.deadLetterTopic ? ` in "${config.deadLetterTopic}"` : "";
    const attempts = config?.maxAttempts ? ` after ${plural(config.maxAttempts, "attempt")} each` : "";
    findings.push({
      level: "warn",
      text: `${plural(depth, "dead letter")}${where}${attempts}, not redriven: poison messages?`,
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
  const age = oldestUnackedAge(subscription);
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
