/**
 * `edge-broker sub` and `edge-broker tail`: messages as they arrive, over WebSocket through the
 * client SDK, which reconnects, keeps credit and batches acks. Each message is printed on one
 * line (readable, or JSON with `--json`); `sub` acks a message once it is printed. Ctrl-C stops
 * either cleanly: pending acks are flushed and the socket closed.
 */
import { integerOption, JSON_OPTION } from "../args.mjs";
import { asRefusal, brokerClient } from "../http.mjs";
import { messageJson, messageLine, writeOut } from "../output.mjs";

/** Credit of a consumer that was not given one: what the broker grants by default. */
const DEFAULT_CREDIT = 100;

export const sub = {
  usage: "<topic> <subscription>",
  summary: "Consume a subscription: print each message, then ack it",
  description:
    "Consume a subscription: print each message on one line, then ack it. Runs until Ctrl-C, or\n" +
    "until --max messages are done. Reconnects by itself; status goes to stderr.",
  positionals: [2, 2],
  options: {
    max: { type: "string", value: "N", describe: "stop after N messages" },
    "max-in-flight": {
      type: "string",
      value: "N",
      describe: `most messages leased to this consumer at once (default ${DEFAULT_CREDIT}, or --max if smaller)`,
    },
    ...JSON_OPTION,
  },
  examples: ["edge-broker sub orders billing", "edge-broker sub orders billing --max 10 --json"],
  async run({ config, values, positionals: [topic, name], name: command }) {
    const max = integerOption(values, "max", command, { min: 1 });
    const credit =
      integerOption(values, "max-in-flight", command, { min: 1, max: 1_000 }) ??
      Math.min(max ?? DEFAULT_CREDIT, DEFAULT_CREDIT);
    const broker = await brokerClient(config);
    const subscription = broker.subscribe(topic, name, {
      maxInFlight: credit,
      ...(max !== undefined && { limit: max }),
    });
    reportStatus(subscription, `consuming ${topic}/${name}`);
    await untilStopped(subscription, async (stop) => {
      const printed = new Acks();
      try {
        // With --max, the SDK asks the broker for no more than that and ends the loop after it.
        for await (const message of subscription) {
          await writeOut(`${values.json ? messageJson(message) : messageLine(message)}\n`);
          printed.add(message);
        }
      } finally {
        printed.flush();
      }
      // Wait until the broker has the acks before exiting.
      await stop();
    });
  },
};

export const tail = {
  usage: "<topic>",
  summary: "Follow a topic: print its messages as they are published",
  description:
    "Follow a topic and print each message on one line as it is published, without a\n" +
    "subscription or acks: from now, or after a seq first. Runs until Ctrl-C; reconnects by\n" +
    "itself and resumes after the last message printed. Status goes to stderr.",
  positionals: [1, 1],
  options: {
    after: { type: "string", value: "SEQ", describe: "print the retained messages after SEQ first (0: all)" },
    ...JSON_OPTION,
  },
  examples: ["edge-broker tail orders", "edge-broker tail orders --after 0 --json"],
  async run({ config, values, positionals: [topic], name }) {
    const after = integerOption(values, "after", name);
    const broker = await brokerClient(config);
    const live = broker.live(topic, after === undefined ? {} : { after });
    reportStatus(live, `tailing ${topic}`);
    await untilStopped(live, async () => {
      for await (const message of live) {
        await writeOut(`${values.json ? messageJson(message) : messageLine(message)}\n`);
      }
    });
  },
};

/**
 * Acks printed messages together, once per turn of the event loop. The client sends the acks
 * made in one synchronous run as one frame, but each step of a `for await` loop is a run of its
 * own, so acking inside the loop would cost the broker one frame (and one write) per message.
 */
class Acks {
  #pending = [];
  #scheduled = false;

  add(message) {
    this.#pending.push(message);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  flush() {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = [];
    for (const message of pending) message.ack();
  }
}

/**
 * Runs `consume` until it returns, the connection ends, or SIGINT/SIGTERM asks to stop, which
 * closes the connection (for a subscription, after flushing its acks). A failure that ended
 * the connection is thrown as a refusal.
 */
async function untilStopped(connection, consume) {
  const stop = () => Promise.resolve(connection.close());
  const onSignal = () => void stop();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await consume(stop);
  } catch (error) {
    throw asRefusal(error);
  } finally {
    await stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Tells stderr when the connection opens, drops and comes back: stdout carries only messages. */
function reportStatus(connection, what) {
  let opened = false;
  /** A live tail opened before its topic exists is open with `epoch: null` until the topic is created. */
  let waiting = false;
  connection.addEventListener("status", ({ status }) => {
    if (status.type === "open" && opened && status.epoch !== null && waiting) {
      // The topic this tail waited for was created: its messages follow.
      waiting = false;
    } else if (status.type === "open") {
      process.stderr.write(opened ? `reconnected: ${what}\n` : `${what} (Ctrl-C to stop)\n`);
      if (status.epoch === null && !waiting)
        process.stderr.write("the topic does not exist yet: waiting for it\n");
      waiting = status.epoch === null;
      opened = true;
    } else if (status.type === "reconnecting") {
      waiting = false;
      const seconds = (status.delay / 1000).toFixed(1);
      process.stderr.write(`connection lost (${status.error.message}); reconnecting in ${seconds} s\n`);
    }
  });
  connection.addEventListener("error", ({ error }) => {
    process.stderr.write(`${asRefusal(error).toString?.() ?? String(error)}\n`);
  });
}
