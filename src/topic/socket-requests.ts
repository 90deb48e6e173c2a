import { fail, type Result } from "../protocol/errors";
import { logLine } from "../protocol/log";
import { encodeBody, type ReplyMessage } from "../protocol/message";
import { newInbox } from "../protocol/replies";
import type { PublishInput } from "../protocol/topic-rpc";

type InboxStub = ReturnType<Env["INBOX"]["getByName"]>;

/**
 * Requests and replies over a topic's sockets (DESIGN.md §3, "Request/reply"): a `request` frame
 * is asked through a new inbox, exactly as `POST …/requests` is, and the socket that asked is
 * remembered so that its close cancels the wait (a reply after that is refused, `gone`); a
 * `reply` frame is handed to the inbox it names.
 */
export class SocketRequests {
  readonly #inbox: (name: string) => InboxStub;
  readonly #topic: string;
  /** The inboxes each socket waits on. */
  readonly #waiting = new Map<WebSocket, Set<string>>();

  constructor(topic: string, inbox: (name: string) => InboxStub) {
    this.#topic = topic;
    this.#inbox = inbox;
  }

  async ask(ws: WebSocket, message: PublishInput, timeout: number): Promise<Result<ReplyMessage>> {
    const name = newInbox();
    const waiting = this.#waiting.get(ws) ?? new Set<string>();
    waiting.add(name);
    this.#waiting.set(ws, waiting);
    try {
      return (await this.#inbox(name).ask(this.#topic, message, timeout)) as Result<ReplyMessage>;
    } finally {
      waiting.delete(name);
      if (waiting.size === 0 && this.#waiting.get(ws) === waiting) this.#waiting.delete(ws);
    }
  }

  async reply(replyTo: string, message: PublishInput): Promise<Result<unknown>> {
    const reply: Omit<ReplyMessage, "correlationId"> = {
      id: crypto.randomUUID(),
      publishedAt: Date.now(),
      contentType: message.contentType,
      attributes: message.attributes,
      ...encodeBody(message.contentType, message.body),
    };
    try {
      return await this.#inbox(replyTo).reply(reply);
    } catch (error) {
      logLine("error", "a reply failed", { topic: this.#topic, replyTo }, error);
      return fail("internal", "the reply could not be delivered; retry");
    }
  }

  /** A socket closed: the requests it waits on are cancelled. */
  closed(ws: WebSocket): void {
    const waiting = this.#waiting.get(ws);
    if (!waiting) return;
    this.#waiting.delete(ws);
    for (const name of waiting)
      void this.#inbox(name)
        .cancel()
        .catch(() => undefined);
  }
}
