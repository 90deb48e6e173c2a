/**
 * The example page: tails a topic (or consumes a subscription) with the client SDK and
 * publishes to it. Plain DOM, no framework. The SDK is the browser bundle that
 * `npm run build:page` writes to ./dist (`npm start` and `npm run deploy` build it first).
 *
 * Settings come from the form, and start from the query string: `?topic=orders&mode=subscription
 * &subscription=billing&replay=1`.
 */
const BUNDLE = "./dist/edge-broker.js";
/** Older messages are dropped from the page beyond this many, so a busy topic cannot exhaust memory. */
const MAX_SHOWN = 500;
/** A person is watching: after an outage, try again within 5 s rather than the SDK's default 30 s. */
const RECONNECT = { min: 250, max: 5_000 };

const $ = (id) => document.getElementById(id);
const form = { connect: $("connect"), publish: $("publish") };

let sdk;
try {
  sdk = await import(BUNDLE);
} catch (error) {
  showStatus("error", `the client bundle did not load (${error.message}): run \`npm run build:page\``);
  throw error;
}

/** What the page is connected to: `{ topic, reader }`. */
let current;

readQuery();
form.connect.addEventListener("submit", (event) => {
  event.preventDefault();
  connect();
});
form.publish.addEventListener("submit", (event) => {
  event.preventDefault();
  void publish();
});
connect();

function broker() {
  const token = $("token").value.trim();
  return new sdk.Broker(token === "" ? { url: location.origin } : { url: location.origin, token });
}

function settings() {
  const data = new FormData(form.connect);
  return {
    topic: String(data.get("topic")).trim(),
    mode: data.get("mode") === "subscription" ? "subscription" : "live",
    subscription: String(data.get("subscription")).trim() || "demo-page",
    replay: data.get("replay") === "on",
  };
}

/**
 * (Re)connects with the form's settings. A live tail on a topic that does not exist yet waits
 * for it: the broker sends its messages from the first one on.
 */
function connect() {
  current?.reader.close();
  const { topic, mode, subscription, replay } = settings();
  writeQuery({ topic, mode, subscription, replay });
  $("messages").replaceChildren();
  $("last-seq").textContent = "–";
  let reader;
  try {
    reader =
      mode === "live"
        ? broker().live(topic, { reconnect: RECONNECT, ...(replay ? { after: 0 } : {}) })
        : broker().subscribe(topic, subscription, {
            reconnect: RECONNECT,
            create: { startAt: replay ? "earliest" : "latest" },
          });
  } catch (error) {
    showStatus("closed", error.message);
    return;
  }
  const connection = { topic, reader };
  current = connection;
  reader.addEventListener("status", (event) => {
    if (current === connection) showConnection(connection, event.status);
  });
  reader.addEventListener("error", (event) => console.warn("edge-broker:", event.error));
  void (async () => {
    try {
      for await (const message of reader) {
        if (current === connection) show(message);
        // A subscription leases each message to this page until it is acked.
        message.ack?.();
      }
    } catch {
      // The status shows why the connection ended.
    }
  })();
}

function showConnection(connection, status) {
  switch (status.type) {
    case "connecting":
      showStatus(
        "connecting",
        status.attempt === 0 ? "connecting…" : `connecting (attempt ${status.attempt + 1})…`,
      );
      break;
    case "open":
      // A live tail opened before its topic exists waits for the first publish (epoch null).
      showStatus(
        "open",
        status.epoch === null ? `open: waiting for the first message to "${connection.topic}"` : "open",
      );
      break;
    case "reconnecting":
      showStatus(
        "reconnecting",
        `reconnecting in ${(status.delay / 1000).toFixed(1)} s (${status.error.message})`,
      );
      break;
    case "closed":
      showStatus("closed", status.error === undefined ? "closed" : `closed: ${status.error.message}`);
      break;
  }
}

function showStatus(type, text) {
  const status = $("status");
  status.dataset.status = type;
  status.textContent = text;
}

function show(message) {
  const item = document.createElement("li");
  item.dataset.seq = String(message.seq);

  const head = document.createElement("div");
  head.className = "head";
  const seq = document.createElement("strong");
  seq.textContent = `#${message.seq}`;
  const time = document.createElement("time");
  const at = new Date(message.publishedAt);
  time.dateTime = at.toISOString();
  time.textContent = at.toLocaleTimeString();
  const type = document.createElement("span");
  type.textContent = message.contentType;
  head.append(seq, " ", time, " ", type);
  if (message.attempt > 1) head.append(` · attempt ${message.attempt}`);
  for (const [name, value] of Object.entries(message.attributes)) head.append(` · ${name}=${value}`);

  const body = document.createElement("pre");
  body.textContent = describeBody(message);
  item.append(head, body);

  const list = $("messages");
  list.append(item);
  while (list.childElementCount > MAX_SHOWN) list.firstElementChild.remove();
  item.scrollIntoView({ block: "nearest" });
  $("last-seq").textContent = String(message.seq);
}

function describeBody(message) {
  if (/[/+]json\b/i.test(message.contentType)) return JSON.stringify(message.json(), null, 2);
  if (/^text\//i.test(message.contentType)) return message.text();
  return `(${message.bytes().byteLength} bytes)`;
}

async function publish() {
  const result = $("publish-result");
  const topic = settings().topic;
  const text = $("body").value;
  let data = text;
  if ($("content-type").value === "application/json") {
    try {
      data = JSON.parse(text);
    } catch (error) {
      result.textContent = `not valid JSON: ${error.message}`;
      return;
    }
  }
  result.textContent = "publishing…";
  try {
    const receipt = await broker().publish(topic, data);
    result.textContent = `published to "${topic}" as seq ${receipt.seq}`;
  } catch (error) {
    result.textContent = `not published: ${error.message}`;
  }
}

function readQuery() {
  const query = new URLSearchParams(location.search);
  if (query.has("topic")) $("topic").value = query.get("topic");
  if (query.has("subscription")) $("subscription").value = query.get("subscription");
  if (query.get("mode") === "subscription") form.connect.elements.mode.value = "subscription";
  $("replay").checked = query.get("replay") === "1";
}

function writeQuery({ topic, mode, subscription, replay }) {
  const query = new URLSearchParams({ topic });
  if (mode === "subscription") query.set("mode", mode);
  if (mode === "subscription") query.set("subscription", subscription);
  if (replay) query.set("replay", "1");
  history.replaceState(null, "", `?${query}`);
}
