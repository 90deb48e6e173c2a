/**
 * The topics view (`#/?prefix=&limit=`): topics in name order, a page at a time, each with
 * its size, publish rate, how much of its retention it uses, its subscriptions and the one of
 * them that is furthest behind, so a subscription in trouble is found from here.
 */
import { ApiError, topicPath } from "./api.js";
import { announce, h, rerender } from "./dom.js";
import { bytes, count, NONE, percent, plural, rate } from "./format.js";
import { diagnose, publishRate, severity } from "./health.js";
import { createTopic } from "./topic-actions.js";

export const PAGE_SIZES = [10, 25, 100];
/** Topics of a page are read this many at a time, so a page of 100 does not open 200 requests at once. */
const PARALLEL = 6;

/** Cursors of the pages before the current one, per prefix and page size, for "Previous". */
const trail = new Map();

/**
 * Renders the view into `main` and loads its page; returns `{ stop }`.
 *
 * @example
 * renderTopics(main, session, new URLSearchParams("prefix=shop.&limit=10"));
 */
export function renderTopics(main, session, params) {
  const prefix = params.get("prefix") ?? "";
  const limit = PAGE_SIZES.includes(Number(params.get("limit"))) ? Number(params.get("limit")) : 25;
  const cursor = params.get("cursor") ?? "";
  const key = `${prefix}|${limit}`;
  const earlier = trail.get(key) ?? [];
  if (cursor === "") trail.set(key, []);

  const state = { loading: true, page: null, error: null };
  let stopped = false;
  const body = h("div");
  const render = () => rerender(body, () => content({ prefix, limit, cursor, earlier }, state, load));

  async function load() {
    state.loading = true;
    render();
    try {
      state.page = await loadPage(session, { prefix, limit, cursor });
      state.error = null;
    } catch (error) {
      state.error = error;
    }
    state.loading = false;
    if (stopped) return;
    render();
    announce(state.error ? state.error.message : `${plural(state.page.rows.length, "topic")} shown`);
  }

  main.replaceChildren(
    h("h1", { tabindex: "-1" }, "Topics"),
    filters(prefix, limit),
    toolbar(session, load),
    body,
  );
  void load();
  return {
    stop() {
      stopped = true;
    },
  };
}

function filters(prefix, limit) {
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Topics" },
    h("label", { for: "prefix" }, "Name starts with"),
    h("input", { id: "prefix", name: "prefix", value: prefix, autocomplete: "off", spellcheck: "false" }),
    h("label", { for: "limit" }, "Per page"),
    h(
      "select",
      { id: "limit", name: "limit" },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === limit }, n)),
    ),
    h("button", { type: "submit", class: "secondary" }, "Show"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    location.hash = `#/?${new URLSearchParams({ prefix: String(data.get("prefix")).trim(), limit: String(data.get("limit")) })}`;
  });
  return form;
}

function toolbar(session, reload) {
  const may = session.rights.anywhere("admin");
  return h(
    "div",
    { class: "toolbar" },
    h(
      "button",
      {
        type: "button",
        class: "primary",
        disabled: !may,
        "aria-describedby": may ? null : "create-topic-why",
        dataset: { focus: "create-topic" },
        onclick: () => createTopic(session),
      },
      "Create topic",
    ),
    may
      ? null
      : h(
          "p",
          { class: "hint", id: "create-topic-why" },
          "This credential holds admin on no topic: it cannot create one.",
        ),
    h(
      "button",
      { type: "button", class: "secondary", dataset: { focus: "refresh" }, onclick: reload },
      "Refresh",
    ),
  );
}

function content(where, state, reload) {
  if (state.error) {
    return [
      h(
        "p",
        { class: "error" },
        state.error instanceof ApiError ? state.error.describe() : state.error.message,
      ),
      h("button", { type: "button", class: "secondary", onclick: reload }, "Try again"),
    ];
  }
  if (state.page === null) return h("p", { class: "hint" }, "Loading…");
  const { rows, next } = state.page;
  const caption = `${where.prefix ? `Topics whose names start with "${where.prefix}"` : "All topics"}, page ${where.earlier.length + 1}`;
  const table = h(
    "div",
    { class: "table-wrap", role: "region", "aria-label": caption, tabindex: "0" },
    h(
      "table",
      { id: "topics" },
      h("caption", {}, caption, state.loading ? " (refreshing…)" : ""),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          [
            "Topic",
            "Messages",
            "Size",
            "Publish rate",
            "Retention use",
            "Subscriptions",
            "Furthest behind",
          ].map((name) => h("th", { scope: "col" }, name)),
        ),
      ),
      h("tbody", {}, rows.map(row)),
    ),
  );
  const empty =
    rows.length === 0 ? h("p", { class: "hint" }, "No topics here that this credential may see.") : null;
  return [empty ?? table, pager(where, next)];
}

function row({ name, info, subscriptions, error, refused }) {
  const link = h("th", { scope: "row" }, h("a", { href: `#/topics/${encodeURIComponent(name)}` }, name));
  if (refused) {
    return h(
      "tr",
      { dataset: { topic: name } },
      link,
      h("td", { colspan: "6", class: "muted" }, `no stats: ${refused}`),
    );
  }
  if (error) {
    const text = error.status === 404 ? "deleted meanwhile" : `no stats: ${error.describe()}`;
    return h("tr", { dataset: { topic: name } }, link, h("td", { colspan: "6", class: "muted" }, text));
  }
  const { stats } = info;
  return h(
    "tr",
    { dataset: { topic: name } },
    link,
    h("td", { class: "num" }, count(stats.messages)),
    h("td", { class: "num" }, bytes(stats.bytes)),
    h("td", { class: "num" }, rate(publishRate(info))),
    h("td", {}, retentionUse(info)),
    h("td", { class: "num" }, count(stats.subscriptions)),
    h("td", {}, behind(subscriptions)),
  );
}

/** The larger of the size and count limits' use; "—" without config (admin only) or limits. */
export function retentionUse(info) {
  const retention = info.config?.retention;
  if (!retention) return NONE;
  const uses = [];
  if (retention.maxBytes)
    uses.push([info.stats.bytes / retention.maxBytes, `of ${bytes(retention.maxBytes)}`]);
  if (retention.maxMessages)
    uses.push([info.stats.messages / retention.maxMessages, `of ${count(retention.maxMessages)} messages`]);
  if (uses.length === 0) return "no size limit";
  const [fraction, of] = uses.sort((a, b) => b[0] - a[0])[0];
  return `${percent(fraction)} ${of}`;
}

function behind(subscriptions) {
  if (!subscriptions) return NONE;
  const worst = [...subscriptions].sort((a, b) => severity(b) - severity(a))[0];
  if (!worst || (worst.stats.backlog === 0 && diagnose(worst).length === 0)) return "none";
  const finding = diagnose(worst)[0];
  return h(
    "span",
    { class: finding ? finding.level : "" },
    h("strong", {}, worst.name),
    `: ${count(worst.stats.backlog)} waiting`,
    finding ? h("br") : null,
    finding ? finding.text : null,
  );
}

function pager(where, next) {
  const go = (cursor) => {
    const query = new URLSearchParams({ prefix: where.prefix, limit: String(where.limit) });
    if (cursor) query.set("cursor", cursor);
    location.hash = `#/?${query}`;
  };
  const key = `${where.prefix}|${where.limit}`;
  const previous = () => {
    const before = [...where.earlier];
    const cursor = before.pop();
    trail.set(key, before);
    go(cursor ?? "");
  };
  const following = () => {
    trail.set(key, [...where.earlier, where.cursor]);
    go(next);
  };
  if (where.cursor === "" && !next) return null;
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages of topics" },
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        disabled: where.cursor === "",
        dataset: { focus: "previous" },
        onclick: previous,
      },
      "Previous page",
    ),
    h(
      "button",
      { type: "button", class: "secondary", disabled: !next, dataset: { focus: "next" }, onclick: following },
      "Next page",
    ),
  );
}

/** A page of the listing, each topic with its info and its subscriptions (where the credential may see them). */
async function loadPage(session, { prefix, limit, cursor }) {
  const listing = await session.api.get("v1/topics", { prefix, limit, cursor });
  const rows = listing.topics.map(({ name }) => ({ name }));
  const queue = [...rows];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      // A topic listed for a credential that may only publish to it: its stats are not asked for.
      const refused = session.rights.why("subscribe", item.name);
      if (refused !== null) {
        item.refused = refused;
        continue;
      }
      try {
        const [info, subs] = await Promise.all([
          session.api.get(topicPath(item.name)),
          session.api.get(topicPath(item.name, "subscriptions")),
        ]);
        session.rights.learnFromInfo(item.name, info);
        item.info = info;
        item.subscriptions = subs.subscriptions;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.status === 403) session.rights.refuse("subscribe", item.name, error.describe());
        item.error = error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, rows.length) }, worker));
  return { rows, next: listing.cursor };
}
