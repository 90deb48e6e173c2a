/**
 * The actions on one subscription, each confirmed in a dialog with what it will do: pause or
 * resume delivery, purge the backlog, seek the cursor, redrive dead letters, delete it.
 */
import { topicPath } from "./api.js";
import { confirmAction, field } from "./dialog.js";
import { announce, h } from "./dom.js";
import { count, plural } from "./format.js";
import { withRight } from "./topic-actions.js";

/** Most redrive calls one confirmation makes: each gives back up to 10,000 dead letters. */
const MAX_REDRIVE_CALLS = 10;

/** Every action, with the right it needs and when it applies, in the order the buttons show. */
export const SUBSCRIPTION_ACTIONS = [
  { id: "pause", label: "Pause", right: "admin", shown: (s) => !s.config?.paused, run: pause },
  { id: "resume", label: "Resume", right: "admin", shown: (s) => s.config?.paused === true, run: resume },
  { id: "seek", label: "Seek", right: "subscribe", shown: () => true, run: seek },
  { id: "purge", label: "Purge", right: "admin", shown: () => true, run: purge },
  // Redrive reads the subscription's dead-letter topic: without one there is nothing to give back.
  {
    id: "redrive",
    label: "Redrive",
    right: "admin",
    shown: (s) => !s.config || !!s.config.deadLetterTopic,
    run: redrive,
  },
  { id: "delete", label: "Delete", right: "admin", shown: () => true, run: remove },
];

const path = (topic, name, ...verb) => topicPath(topic, "subscriptions", name, ...verb);

function pause(session, topic, sub) {
  return confirmAction({
    title: `Pause "${sub.name}"?`,
    description: `Nothing is delivered to its consumers until it is resumed, while its backlog (${count(sub.stats.backlog)} now) grows. Messages in flight can still be acked.`,
    submitLabel: "Pause",
    run: async () => {
      await withRight(session, "admin", topic, () =>
        session.api.put(path(topic, sub.name), { paused: true }),
      );
      announce(`paused ${sub.name}`);
    },
  });
}

function resume(session, topic, sub) {
  return confirmAction({
    title: `Resume "${sub.name}"?`,
    description: `Delivery starts again with its backlog of ${count(sub.stats.backlog)}.`,
    submitLabel: "Resume",
    run: async () => {
      await withRight(session, "admin", topic, () =>
        session.api.put(path(topic, sub.name), { paused: false }),
      );
      announce(`resumed ${sub.name}`);
    },
  });
}

function purge(session, topic, sub) {
  return confirmAction({
    title: `Purge "${sub.name}"?`,
    description: `Acks at once every message published so far that it has not acked (${count(sub.stats.backlog)} now), including those in flight and waiting to be retried. They are not delivered again. This cannot be undone.`,
    submitLabel: "Purge",
    danger: true,
    run: async () => {
      const { purged } = await withRight(session, "admin", topic, () =>
        session.api.post(path(topic, sub.name, "purge")),
      );
      session.notice(`Purged ${plural(purged, "message")} from "${sub.name}".`);
    },
  });
}

function seek(session, topic, sub) {
  const choice = (value, label, checked) =>
    h("label", { class: "choice" }, h("input", { type: "radio", name: "to", value, checked }), ` ${label}`);
  return confirmAction({
    title: `Seek "${sub.name}"`,
    description: `Moves where it delivers from next (seq ${count(sub.stats.cursor)} now). Messages before the new place that it has not acked are skipped; those after it are delivered again.`,
    content: [
      h(
        "fieldset",
        {},
        h("legend", {}, "Deliver from"),
        choice("earliest", "the oldest message kept", true),
        choice("latest", "the next message published", false),
        choice("seq", "a seq", false),
        choice("time", "a time", false),
      ),
      field(
        "Seq",
        h("input", { name: "seq", inputmode: "numeric", pattern: "[0-9]*", autocomplete: "off" }),
        "With “a seq”: the first seq to deliver.",
      ),
      field(
        "Time",
        h("input", { name: "time", type: "datetime-local", step: "1" }),
        "With “a time”: the first message published at or after it (this browser's time zone).",
      ),
    ],
    submitLabel: "Seek",
    danger: true,
    run: async (data) => {
      const to = target(data);
      const { cursor } = await withRight(session, "subscribe", topic, () =>
        session.api.post(path(topic, sub.name, "seek"), { to }),
      );
      session.notice(`"${sub.name}" now delivers from seq ${count(cursor)}.`);
    },
  });
}

function target(data) {
  const to = data.get("to");
  if (to === "seq") {
    const seq = Number(data.get("seq"));
    if (!Number.isSafeInteger(seq) || seq < 1 || String(data.get("seq")).trim() === "") {
      throw new Error("give the seq to deliver from: a whole number from 1");
    }
    return seq;
  }
  if (to === "time") {
    const time = new Date(String(data.get("time"))).getTime();
    if (Number.isNaN(time)) throw new Error("give the time to deliver from");
    return { time };
  }
  return to;
}

function redrive(session, topic, sub) {
  const from = sub.config?.deadLetterTopic;
  return confirmAction({
    title: `Redrive the dead letters of "${sub.name}"?`,
    description: `Gives the messages it dead-lettered${from ? ` to "${from}"` : ""} (${count(sub.stats.deadLettered)} so far) back to it, each once, with fresh attempts. Copies whose original is no longer kept are skipped. The dead-letter topic keeps its copies for its other readers.`,
    submitLabel: "Redrive",
    run: async () => {
      let redriven = 0;
      let skipped = 0;
      let more = true;
      for (let calls = 0; more && calls < MAX_REDRIVE_CALLS; calls++) {
        const answer = await withRight(session, "admin", topic, () =>
          session.api.post(path(topic, sub.name, "redrive")),
        );
        redriven += answer.redriven;
        skipped += answer.skipped;
        more = answer.more;
      }
      session.notice(
        `Redrove ${plural(redriven, "dead letter")} to "${sub.name}"${skipped ? `, skipped ${count(skipped)}` : ""}${more ? "; more are left: redrive again" : ""}.`,
      );
    },
  });
}

function remove(session, topic, sub) {
  return confirmAction({
    title: `Delete subscription "${sub.name}"?`,
    description: `Its place in the topic and its ${count(sub.stats.backlog)} unacked messages are forgotten, and its consumers are disconnected. The topic's messages stay. This cannot be undone.`,
    submitLabel: "Delete subscription",
    danger: true,
    run: async () => {
      await withRight(session, "admin", topic, () => session.api.delete(path(topic, sub.name)));
      announce(`deleted subscription ${sub.name}`);
    },
  });
}
