/**
 * The tables of a topic's view: its subscriptions, worst first, each with what holds it back
 * and its actions; and its routes with their lag.
 */
import { h } from "./dom.js";
import { ago, count, duration, NONE, rate } from "./format.js";
import { deliveryRate, diagnose, oldestUnackedAge, severity } from "./health.js";
import { SUBSCRIPTION_ACTIONS } from "./subscription-actions.js";

/** A table in a focusable, labelled region, so it scrolls sideways by keyboard on a narrow screen. */
function scroller(label, table) {
  return h("div", { class: "table-wrap", role: "region", "aria-label": label, tabindex: "0" }, table);
}

const head = (names) =>
  h(
    "thead",
    {},
    h(
      "tr",
      {},
      names.map((name) => h("th", { scope: "col" }, name)),
    ),
  );

/**
 * @example
 * subscriptionsTable(session, "orders", subscriptions, (action, sub) => action.run(session, "orders", sub));
 */
export function subscriptionsTable(session, topic, subscriptions, act) {
  if (subscriptions.length === 0) return h("p", { class: "hint" }, "No subscriptions.");
  const now = Date.now();
  const sorted = [...subscriptions].sort((a, b) => severity(b) - severity(a) || a.name.localeCompare(b.name));
  return scroller(
    "Subscriptions",
    h(
      "table",
      { id: "subscriptions" },
      h("caption", {}, "Subscriptions, the furthest behind first"),
      head([
        "Subscription",
        "Backlog",
        "In flight",
        "Oldest unacked",
        "Consumers",
        "Push endpoint",
        "Dead-lettered",
        "Delivery rate",
        "What holds it back",
        "Actions",
      ]),
      h(
        "tbody",
        {},
        sorted.map((sub) => subscriptionRow(session, topic, sub, now, act)),
      ),
    ),
  );
}

function subscriptionRow(session, topic, sub, now, act) {
  const { stats, config } = sub;
  const findings = diagnose(sub, now);
  const level = findings.some((f) => f.level === "bad") ? "bad" : findings.length > 0 ? "warn" : "ok";
  const mode = [stats.push || config?.push ? "push" : "pull", config?.paused ? "paused" : null].filter(
    Boolean,
  );
  return h(
    "tr",
    { dataset: { subscription: sub.name, level } },
    h("th", { scope: "row" }, sub.name, h("span", { class: "tag" }, mode.join(" · "))),
    h("td", { class: "num" }, count(stats.backlog)),
    h("td", { class: "num" }, count(stats.inFlight)),
    h("td", { class: "num" }, oldestUnackedAge(sub) === null ? "none" : duration(oldestUnackedAge(sub))),
    h("td", { class: "num" }, count(stats.consumers)),
    h("td", {}, pushHealth(sub, now)),
    h("td", { class: "num" }, count(stats.deadLettered)),
    h("td", { class: "num" }, rate(deliveryRate(sub))),
    h(
      "td",
      { class: "findings" },
      findings.length === 0
        ? "nothing"
        : h(
            "ul",
            {},
            findings.map((f) => h("li", { class: f.level }, f.text)),
          ),
    ),
    h("td", { class: "actions" }, actions(session, topic, sub, act)),
  );
}

function pushHealth(sub, now) {
  const push = sub.stats.push;
  const target = sub.config?.push ? (sub.config.push.url ?? `service ${sub.config.push.service}`) : null;
  if (!push && !target) return NONE;
  const lines = [];
  if (target) lines.push(h("span", { class: "target" }, target));
  if (push) {
    const last = push.lastStatus === null ? "no answer yet" : `last answer HTTP ${push.lastStatus}`;
    lines.push(
      push.consecutiveFailures > 0
        ? h("span", { class: "bad" }, `failing: ${push.lastError ?? last}, ${ago(push.lastErrorAt, now)}`)
        : h("span", {}, `healthy: ${last}`),
    );
  }
  return lines.flatMap((line, i) => (i === 0 ? [line] : [h("br"), line]));
}

function actions(session, topic, sub, act) {
  return h(
    "div",
    { class: "row-actions" },
    SUBSCRIPTION_ACTIONS.filter((action) => action.shown(sub)).map((action) => {
      const refused = session.rights.why(action.right, topic);
      return h(
        "button",
        {
          type: "button",
          class: action.id === "delete" || action.id === "purge" ? "small danger-outline" : "small secondary",
          disabled: refused !== null,
          "aria-describedby": refused === null ? null : "may-not",
          "aria-label": `${action.label} ${sub.name}`,
          dataset: { focus: `${action.id}:${sub.name}`, action: action.id },
          onclick: () => act(action, sub),
        },
        action.label,
      );
    }),
  );
}

/** The topic's routes and how far behind each is; `null` when it has none. */
export function routesTable(routes, now = Date.now()) {
  if (!routes || routes.length === 0) return null;
  return scroller(
    "Routes",
    h(
      "table",
      { id: "routes" },
      h("caption", {}, "Routes"),
      head(["Route", "To", "Lag", "Forwarded", "Filtered", "Failed", "Dead-lettered", "Last error"]),
      h(
        "tbody",
        {},
        routes.map((route) =>
          h(
            "tr",
            { dataset: { route: route.name } },
            h("th", { scope: "row" }, route.name),
            h("td", {}, route.to ?? NONE),
            h("td", { class: "num" }, count(route.lag)),
            h("td", { class: "num" }, count(route.forwarded)),
            h("td", { class: "num" }, count(route.filtered)),
            h("td", { class: "num" }, count(route.failed)),
            h("td", { class: "num" }, count(route.deadLettered)),
            h(
              "td",
              {},
              route.lastError
                ? `seq ${route.lastError.seq}: ${route.lastError.detail} (${route.lastError.code}, ${ago(route.lastError.at, now)})`
                : NONE,
            ),
          ),
        ),
      ),
    ),
  );
}
