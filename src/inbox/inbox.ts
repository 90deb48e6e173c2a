import { DurableObject } from "cloudflare:workers";
import { fail, ok, type Result } from "../protocol/errors";
import { formatDuration } from "../protocol/fields";
import type { ReplyMessage } from "../protocol/message";
import type { PublishInput } from "../protocol/topic-rpc";

/** A request waiting for its first reply. */
interface Waiter {
  resolve(reply: ReplyMessage | null): void;
  correlationId: string;
}

/**
 * A requester's inbox (DESIGN.md §3, "Request/reply"): one object per request, named by the
 * request's `replyTo` (`_reply.` and 128 random bits). It publishes the request to its topic, then
 * waits, in memory and for a bounded time, for the first reply; a reply that finds nobody waiting
 * (the time ran out, the requester went away, or another reply came first) is refused with
 * `gone`, never stored. The wait lives in this object rather than in the requester's topic
 * because a responder's reply arrives through any worker, anywhere: the inbox's name is the one
 * place both ends can find.
 */
export class Inbox extends DurableObject<Env> {
  #waiter: Waiter | null = null;

  /**
   * Publishes `message` to `topic` with this inbox as its `replyTo` and waits up to `timeout` ms
   * for the first reply: `no_responders` at once when the topic has no subscription or route
   * that could see it, `reply_timeout` when none came in time.
   */
  async ask(topic: string, message: PublishInput, timeout: number): Promise<Result<ReplyMessage>> {
    const inbox = this.ctx.id.name;
    if (inbox === undefined) throw new Error("an inbox is addressed by its name (getByName)");
    if (this.#waiter !== null) return fail("conflict", "this inbox already waits for a reply");
    const correlationId = message.correlationId ?? crypto.randomUUID();
    let resolve!: (reply: ReplyMessage | null) => void;
    const replied = new Promise<ReplyMessage | null>((r) => {
      resolve = r;
    });
    const waiter: Waiter = { resolve, correlationId };
    // Waiting before publishing: a responder may answer before the publish is acknowledged.
    this.#waiter = waiter;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const published = await this.env.TOPIC.getByName(topic).publish(
        [{ ...message, replyTo: inbox, correlationId }],
        {
          needResponders: true,
        },
      );
      if (!published.ok) return published;
      const timedOut = new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), timeout);
      });
      const reply = await Promise.race([replied, timedOut]);
      if (reply === "timeout") {
        return fail(
          "reply_timeout",
          `no reply within ${formatDuration(timeout)}; the request was published, so it may still be handled`,
        );
      }
      if (reply === null) return fail("gone", "the request was cancelled");
      return ok(reply);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (this.#waiter === waiter) this.#waiter = null;
    }
  }

  /** The first reply wins; a reply that finds nobody waiting is `gone`. */
  reply(reply: Omit<ReplyMessage, "correlationId">): Result<{ delivered: true }> {
    const waiter = this.#waiter;
    if (waiter === null) {
      return fail("gone", "nobody waits for this reply: the requester had an answer, gave up, or went away");
    }
    this.#waiter = null;
    waiter.resolve({ ...reply, correlationId: waiter.correlationId });
    return ok({ delivered: true });
  }

  /** The requester went away: a reply from now on is `gone`. */
  cancel(): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.resolve(null);
  }
}
