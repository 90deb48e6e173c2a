/**
 * A topic's view (`#/topics/{name}`): its size and retention, its subscriptions with what holds
 * each back, its routes, the actions on all of them, and a live tail. It refreshes every few
 * seconds while the tab is visible and no dialog is open, and at once after an action.
 */
import { ApiError, topicPath } from "./api.js";
import { dialogOpen } from "./dialog.js";
import { h, rerender } from "./dom.js";
import { bytes, clock, count, duration, NONE, rate } from "./format.js";
import { publishRate } from "./health.js";
import { LiveTailPanel } from "./live-tail.js";
import { createSubscription, deleteTopic, publishMessage } from "./topic-actions.js";
import { routesTable, subscriptionsTable } from "./topic-tables.js";
import { retentionUse } from "./topics-view.js";

const REFRESH_MS = 5_000;

/**
 * Renders the view into `main`; returns `{ stop }`, which also ends the live tail.
 *
 * @example
 * const view = renderTopic(main, session, "orders");
 * view.stop();
 */
export function renderTopic(main, session, topic) {
  const state = { info: null, subscriptions: null, error: null, updated: null, auto: true };
  const body = h("div", { class: "topic-body" });
  const notice = h("p", { id: "notice", role: "status", class: "notice" });
  const tailButton = h("button", {
    type: "button",
    class: "secondary",
    id: "tail-toggle",
    onclick: toggleTail,
  });
  const tail = new LiveTailPanel(session, topic, () => {
    tailButton.textContent = tail.running ? "Stop the live tail" : "Start the live tail";
  });
  let stopped = false;
  let timer;

  session.notice = (text) => {
    notice.textContent = text;
  };

  function toggleTail() {
    if (tail.running) tail.stop();
    else tail.start();
  }
  tailButton.textContent = "Start the live tail";

  const act = async (run) => {
    const done = await run();
    if (done !== undefined) await load();
  };

  async function load() {
    clearTimeout(timer);
    const refused = session.rights.why("subscribe", topic);
    if (refused !== null) {
      // Stats need "subscribe": not asked for, so the view shows what the credential may do instead.
      Object.assign(state, { info: null, subscriptions: null, error: null, refused });
      if (!stopped) render();
      return;
    }
    try {
      const [info, listing] = await Promise.all([
        session.api.get(topicPath(topic)),
        session.api.get(topicPath(topic, "subscriptions")),
      ]);
      session.rights.learnFromInfo(topic, info);
      Object.assign(state, { info, subscriptions: listing.subscriptions, error: null, updated: Date.now() });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 403) session.rights.refuse("subscribe", topic, error.describe());
      Object.assign(state, { info: null, subscriptions: null, error });
    }
    if (stopped) return;
    render();
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    if (!stopped && state.auto)
      timer = setTimeout(() => (document.hidden || dialogOpen() ? schedule() : void load()), REFRESH_MS);
  }

  function render() {
    rerender(body, () => [
      toolbar(session, topic, state, { act, load, schedule }),
      mayNot(session, topic),
      content(session, topic, state, act),
    ]);
    tailButton.disabled = session.rights.why("subscribe", topic) !== null && !tail.running;
    if (tailButton.disabled) tailButton.setAttribute("aria-describedby", "may-not");
    else tailButton.removeAttribute("aria-describedby");
  }

  main.replaceChildren(
    h(
      "nav",
      { "aria-label": "Breadcrumb", class: "breadcrumb" },
      h("a", { href: "#/" }, "Topics"),
      " › ",
      topic,
    ),
    h("h1", { tabindex: "-1" }, topic),
    notice,
    body,
    h(
      "section",
      { "aria-labelledby": "tail-heading", class: "tail-section" },
      h("h2", { id: "tail-heading" }, "Live tail"),
      h("p", { class: "hint" }, "Each message published from now on, as it arrives. Nothing is acked."),
      tailButton,
      tail.element,
    ),
  );
  body.append(h("p", { class: "hint" }, "Loading…"));
  void load();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      tail.stop();
    },
  };
}

function toolbar(session, topic, state, { act, load, schedule }) {
  const button = (id, label, right, run, kind = "secondary") => {
    const refused = session.rights.why(right, topic);
    return h(
      "button",
      {
        type: "button",
        class: kind,
        disabled: refused !== null,
        "aria-describedby": refused === null ? null : "may-not",
        dataset: { focus: id },
        onclick: () => act(run),
      },
      label,
    );
  };
  const auto = h("input", {
    type: "checkbox",
    id: "auto-refresh",
    checked: state.auto,
    dataset: { focus: "auto-refresh" },
    onchange: (event) => {
      state.auto = event.target.checked;
      schedule();
    },
  });
  return h(
    "div",
    { class: "toolbar" },
    button("publish", "Publish a message", "publish", () => publishMessage(session, topic), "primary"),
    button("create-subscription", "Create subscription", "admin", () => createSubscription(session, topic)),
    button(
      "delete-topic",
      "Delete topic",
      "admin",
      () => deleteTopic(session, topic, state.info?.stats),
      "danger-outline",
    ),
    h("span", { class: "spacer" }),
    h(
      "button",
      { type: "button", class: "secondary", dataset: { focus: "refresh" }, onclick: () => load() },
      "Refresh",
    ),
    h("label", { class: "choice" }, auto, " refresh every 5 s"),
    h("span", { class: "hint" }, state.updated ? `updated ${clock(state.updated)}` : ""),
  );
}

/** What this credential may not do on the topic, and why: said once, pointed at by each disabled button. */
function mayNot(session, topic) {
  const needs = [
    ["publish", "publish"],
    ["read the topic, tail it, or seek its subscriptions", "subscribe"],
    ["create, pause, resume, purge, redrive or delete subscriptions, or delete the topic", "admin"],
  ];
  const refused = needs
    .map(([what, right]) => [what, session.rights.why(right, topic)])
    .filter(([, why]) => why !== null);
  if (refused.length === 0) return null;
  return h(
    "div",
    { class: "may-not", id: "may-not" },
    h("h2", {}, "What this credential may not do here"),
    h(
      "ul",
      {},
      refused.map(([what, why]) => h("li", {}, `It may not ${what}: ${why}.`)),
    ),
  );
}

function content(session, topic, state, act) {
  if (state.error) {
    const text =
      state.error.status === 404
        ? `There is no topic "${topic}" (it may have been deleted).`
        : state.error.describe();
    return h("p", { class: "error" }, text);
  }
  if (state.refused)
    return h("p", { class: "hint" }, "Its stats and subscriptions are not shown: see above.");
  if (state.info === null) return h("p", { class: "hint" }, "Loading…");
  const { info } = state;
  const routes = info.stats.routes?.map((r) => ({
    ...r,
    to: info.config?.routes?.find((c) => c.name === r.name)?.to,
  }));
  const routeTable = routesTable(routes);
  return [
    h(
      "section",
      { "aria-labelledby": "summary-heading" },
      h("h2", { id: "summary-heading" }, "Topic"),
      summary(info),
    ),
    h(
      "section",
      { "aria-labelledby": "subscriptions-heading" },
      h("h2", { id: "subscriptions-heading" }, `Subscriptions (${count(state.subscriptions.length)})`),
      subscriptionsTable(session, topic, state.subscriptions, (action, sub) =>
        act(() => action.run(session, topic, sub)),
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "routes-heading" },
      h("h2", { id: "routes-heading" }, "Routes"),
      routeTable ?? h("p", { class: "hint" }, "No routes."),
    ),
  ];
}

function summary(info) {
  const { stats, config } = info;
  const retention = config?.retention;
  const item = (term, value) => h("div", {}, h("dt", {}, term), h("dd", {}, value));
  return h(
    "dl",
    { class: "summary" },
    item("Messages", count(stats.messages)),
    item("Size", bytes(stats.bytes)),
    item(
      "Seqs kept",
      stats.firstSeq === null ? "none" : `${count(stats.firstSeq)} to ${count(stats.lastSeq)}`,
    ),
    item("Published", count(stats.published)),
    item("Publish rate", rate(publishRate(info))),
    item("Retention use", retentionUse(info)),
    item(
      "Retention",
      retention
        ? `${retention.maxAge === null ? "no age limit" : `up to ${duration(retention.maxAge)}`}, ${retention.maxBytes === null ? "no size limit" : `${bytes(retention.maxBytes)}`}, ${retention.maxMessages === null ? "no count limit" : `${count(retention.maxMessages)} messages`}; when full: ${config.onFull === "reject" ? "refuse" : "drop the oldest"}`
        : NONE,
    ),
    item("Dropped when full", count(stats.dropped)),
    item("Open sockets", count(stats.sockets)),
  );
}
