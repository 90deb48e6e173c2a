/**
 * `edge-broker pub`: one message from the command line, or one message per line of a file or of
 * standard input, sent with the client SDK as batches that each hold at most 1,000 messages and
 * 8 MiB, one batch in flight at a time so the log keeps the order of the lines.
 */
import { createReadStream, fstatSync } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { LIMITS } from "../../src/protocol/limits.ts";
import { duration, JSON_OPTION, pairsOption, UsageError } from "../args.mjs";
import { asRefusal, brokerClient, Refusal } from "../http.mjs";
import { writeOut } from "../output.mjs";
import { Progress } from "../progress.mjs";

/** Room left in each batch for the request's own framing (`{"messages":[…]}`, commas). */
const BATCH_BYTES = LIMITS.batchBytes - 64 * 1024;

export const pub = {
  usage: "<topic> [data]",
  summary: "Publish a message, or one message per line of a file or of standard input",
  description:
    "Publish one message (the data argument or --data), or one message per line of --file or of\n" +
    "standard input, in batches of up to 1,000 messages; empty lines are skipped. A body that is\n" +
    "valid JSON goes as application/json, anything else as text/plain, unless --content-type says\n" +
    "otherwise. The topic is created by its first message.",
  positionals: [1, 2],
  options: {
    data: { type: "string", value: "TEXT", describe: "the message body (instead of the data argument)" },
    file: {
      type: "string",
      value: "PATH",
      describe: "publish each line of this file (- for standard input)",
    },
    "content-type": { type: "string", value: "TYPE", describe: "the media type of every message" },
    key: { type: "string", value: "KEY", describe: "ordering key" },
    attr: { type: "string", multiple: true, value: "NAME=VALUE", describe: "an attribute" },
    delay: { type: "string", value: "DURATION", describe: "keep the message invisible this long (up to 7d)" },
    "idempotency-key": {
      type: "string",
      value: "KEY",
      describe: "publish once per key; with lines, line N gets KEY:N",
    },
    ...JSON_OPTION,
  },
  examples: [
    `edge-broker pub orders '{"order": 1}' --attr region=eu`,
    "edge-broker pub reminders 'call Ada' --delay 15m --idempotency-key reminder-7",
    "edge-broker pub orders --file orders.jsonl",
    "seq 1 100 | edge-broker pub numbers",
  ],
  async run({ config, values, positionals: [topic, data], name }) {
    if (data !== undefined && values.data !== undefined) {
      throw new UsageError("give the message as an argument or with --data, not both", name);
    }
    const body = data ?? values.data;
    if (body !== undefined && values.file !== undefined) {
      throw new UsageError("--file publishes lines: leave out the message argument", name);
    }
    const options = {
      attributes: pairsOption(values, "attr", name),
      key: values.key,
      delay: duration(values, "delay", name),
      contentType: values["content-type"],
    };
    const broker = await brokerClient(config);
    if (body !== undefined) {
      const receipt = await publishOne(broker, topic, body, {
        ...options,
        idempotencyKey: values["idempotency-key"],
      });
      if (values.json) return writeOut(`${JSON.stringify(receipt)}\n`);
      const duplicate = receipt.duplicate ? " (a duplicate: stored before)" : "";
      return writeOut(`published seq ${receipt.seq} (id ${receipt.id})${duplicate}\n`);
    }
    if (values.file === undefined && process.stdin.isTTY) {
      throw new UsageError("give a message, --file, or lines on standard input", name);
    }
    const source = await openInput(values.file);
    const keyPrefix = values["idempotency-key"];
    return publishLines(broker, topic, source, { ...options, keyPrefix, json: values.json });
  },
};

/** The content type of a body: the one asked for, else JSON when it parses as JSON, else text. */
function contentTypeOf(text, asked) {
  if (asked !== undefined) return asked;
  try {
    JSON.parse(text);
    return "application/json";
  } catch {
    return "text/plain;charset=utf-8";
  }
}

/** Options as the SDK takes them, without the ones not given. */
function sdkOptions(text, options, idempotencyKey) {
  const sdk = { contentType: contentTypeOf(text, options.contentType) };
  if (options.attributes !== undefined) sdk.attributes = options.attributes;
  if (options.key !== undefined) sdk.key = options.key;
  if (options.delay !== undefined) sdk.delay = options.delay;
  if (idempotencyKey !== undefined) sdk.idempotencyKey = idempotencyKey;
  return sdk;
}

async function publishOne(broker, topic, text, options) {
  try {
    return await broker.publish(topic, text, sdkOptions(text, options, options.idempotencyKey));
  } catch (error) {
    throw asRefusal(error);
  }
}

/** The stream of lines to publish and its size in bytes, when it is a file. */
async function openInput(file) {
  if (file === undefined || file === "-") {
    let info;
    try {
      info = fstatSync(process.stdin.fd);
    } catch {
      // No standard input to measure: the size stays unknown.
    }
    return { stream: process.stdin, size: info?.isFile() ? info.size : undefined };
  }
  const info = await stat(file).catch((error) => {
    throw new Refusal("Cannot read the file", `${file}: ${error.code ?? error.message}`, undefined);
  });
  return { stream: createReadStream(file), size: info.isFile() ? info.size : undefined };
}

/** Bytes one message adds to a batch request, at most: base64 for JSON bodies, escaped text otherwise. */
function entryBytes(message) {
  const body = Buffer.byteLength(message.data);
  const data = /^text\//i.test(message.contentType)
    ? Buffer.byteLength(JSON.stringify(message.data))
    : 4 * Math.ceil(body / 3);
  const { data: _data, ...rest } = message;
  return data + Buffer.byteLength(JSON.stringify(rest)) + 32;
}

/**
 * Publishes each non-empty line as a message, in order: the next batch is sent only once the
 * one before it is stored, while the lines after it are read.
 */
async function publishLines(broker, topic, source, options) {
  const progress = new Progress(process.stderr, source.size);
  const lines = createInterface({ input: source.stream, crlfDelay: Number.POSITIVE_INFINITY });
  const summary = { published: 0, duplicates: 0, firstSeq: undefined, lastSeq: undefined, lastLine: 0 };
  let bytesRead = 0;
  let batch = [];
  let batchBytes = 0;
  let sending = Promise.resolve();
  let failure;

  const send = (entries) => {
    const previous = sending;
    sending = (async () => {
      await previous;
      if (failure !== undefined) return;
      try {
        const receipts = await broker.publishBatch(
          topic,
          entries.map((entry) => entry.message),
        );
        let json = "";
        receipts.forEach((receipt, i) => {
          summary.firstSeq ??= receipt.seq;
          summary.lastSeq = receipt.seq;
          if (receipt.duplicate) summary.duplicates++;
          if (options.json) json += `${JSON.stringify({ line: entries[i].line, ...receipt })}\n`;
        });
        summary.published += receipts.length;
        summary.lastLine = entries.at(-1).line;
        if (json) await writeOut(json);
        progress.update({ bytes: bytesRead, published: summary.published });
      } catch (error) {
        failure = { error: asRefusal(error), lines: [entries[0].line, entries.at(-1).line] };
      }
    })();
  };

  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      bytesRead += Buffer.byteLength(line) + 1;
      progress.update({ bytes: bytesRead, published: summary.published });
      if (failure !== undefined) break;
      if (line === "") continue;
      if (Buffer.byteLength(line) > LIMITS.messageBytes) {
        await sending;
        failure ??= {
          error: new Refusal(
            "Payload too large",
            `line ${lineNumber} holds ${Buffer.byteLength(line)} bytes; a message holds at most ${LIMITS.messageBytes}`,
            "payload_too_large",
          ),
        };
        break;
      }
      const key = options.keyPrefix === undefined ? undefined : `${options.keyPrefix}:${lineNumber}`;
      const message = { data: line, ...sdkOptions(line, options, key) };
      const size = entryBytes(message);
      if (batch.length === LIMITS.batchMessages || (batch.length > 0 && batchBytes + size > BATCH_BYTES)) {
        await sending;
        send(batch);
        batch = [];
        batchBytes = 0;
      }
      batch.push({ line: lineNumber, message });
      batchBytes += size;
    }
    if (failure === undefined && batch.length > 0) send(batch);
    await sending;
  } finally {
    lines.close();
    source.stream.destroy?.();
    progress.done();
  }
  if (failure !== undefined) {
    const where = failure.lines
      ? ` (the batch of lines ${failure.lines[0]}–${failure.lines[1]} was refused)`
      : "";
    const before = summary.published ? ` through line ${summary.lastLine}` : "";
    process.stderr.write(`published ${summary.published} messages${before} before the failure${where}\n`);
    throw failure.error;
  }
  if (options.json) return;
  const range =
    summary.published === 0
      ? ""
      : summary.firstSeq === summary.lastSeq
        ? `: seq ${summary.firstSeq}`
        : `: seq ${summary.firstSeq}–${summary.lastSeq}`;
  const duplicates = summary.duplicates ? ` (${summary.duplicates} duplicates)` : "";
  const noun = summary.published === 1 ? "message" : "messages";
  return writeOut(`published ${summary.published} ${noun}${range}${duplicates}\n`);
}
