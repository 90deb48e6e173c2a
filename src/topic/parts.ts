import { ok, type Result } from "../protocol/errors";
import { LIMITS } from "../protocol/limits";
import type {
  DeadLetterPage,
  PublishInput,
  PublishOptions,
  PurgeResult,
  RedriveResult,
} from "../protocol/topic-rpc";
import { TopicAdmin } from "./admin";
import { Alarm } from "./alarm";
import { TopicAnalytics } from "./analytics";
import { Changes } from "./changes";
import { ConsumerVerbs } from "./consumer-verbs";
import { noSubscription } from "./failures";
import { Housekeeping } from "./housekeeping";
import { LongPolls } from "./long-polls";
import { OpenSockets } from "./open-sockets";
import { Publishing } from "./publishing";
import { purge } from "./purge";
import { Push } from "./push";
import { Queue } from "./queue";
import { type DeadLetterSource, deadLettersOf, type ReadDeadLetters, redrive } from "./redrive";
import { Registration } from "./registration";
import { Relays } from "./relays";
import { RemoteConsumers } from "./remote-consumers";
import { RouteForwarding } from "./route-forwarding";
import { positiveInt, SocketEndpoint, socketLimits } from "./socket-endpoint";
import { SocketEvents } from "./socket-events";
import { SocketRequests } from "./socket-requests";
import { TopicStore } from "./store";
import type { ForkSource } from "./stream-forks";
import { Streams } from "./streams";
import { type PushTransport, Webhooks } from "./webhooks";

/** What a topic object is made of: each part owns one piece of the work (DESIGN.md §7). */
export interface TopicParts {
  readonly name: string;
  readonly store: TopicStore;
  readonly polls: LongPolls;
  readonly alarm: Alarm;
  readonly changes: Changes;
  readonly housekeeping: Housekeeping;
  readonly publishing: Publishing;
  readonly verbs: ConsumerVerbs;
  readonly endpoint: SocketEndpoint;
  readonly events: SocketEvents;
  readonly admin: TopicAdmin;
  readonly remote: RemoteConsumers;
  readonly streams: Streams;
  readonly operations: Operations;
  readonly queue: Queue;
  readonly analytics: TopicAnalytics;
}

/** The object's request count since it started, for the topic's `usage`. */
export type RequestCount = () => { requests: number; since: number };

/**
 * Builds a topic object's parts and wires them together: who reacts to a change (long-polls,
 * sockets, sessions, relays, webhooks), what the one alarm waits for, and how the topic reaches
 * other objects (the Registry, other topics, edges, inboxes, service bindings).
 */
export function assemble(ctx: DurableObjectState, env: Env, name: string, count: RequestCount): TopicParts {
  const store = new TopicStore(ctx.storage);
  const polls = new LongPolls(store, positiveInt(env.MAX_LONG_POLLS_PER_TOPIC) ?? LIMITS.longPollsPerTopic);
  const sockets = new OpenSockets(ctx);
  const push = new Push(store, sockets, () => changes.react("sockets"));
  const registration = new Registration(env.REGISTRY, store);
  const publishTo = (topic: string, messages: PublishInput[], options?: PublishOptions) =>
    env.TOPIC.getByName(topic).publish(messages, options);
  const forwarding = new RouteForwarding(store, publishTo);
  const housekeeping = new Housekeeping(store, registration, publishTo, forwarding);
  const alarm = new Alarm(ctx.storage, store, {
    socketExpiry: () => sockets.nextExpiry(),
    registered: () => registration.done,
    retryAt: () => housekeeping.retryAt,
    pushDue: () => webhooks.nextDue(),
    expiry: () => store.stream.expiresAt(),
    analyticsDue: () => analytics.dueAt(),
  });
  const limits = socketLimits(env);
  const relays = new Relays(name, store, env.EDGE, limits.relays);
  const changes = new Changes(store, {
    wake: () => polls.wake(),
    push: () => {
      push.pump();
      remote.pump();
      relays.feed();
      webhooks.pump();
    },
    arm: () => alarm.arm(),
  });
  const webhooks = new Webhooks({
    topic: name,
    store,
    state: store.pushState,
    changes,
    transport: pushTransport(env),
    allowPrivate: env.PUSH_ALLOW_PRIVATE?.trim().toLowerCase() === "true",
    keepAlive: (work) => ctx.waitUntil(work),
  });
  const verbs = new ConsumerVerbs(store, changes, polls);
  const remote = new RemoteConsumers({ topic: name, store, edges: env.EDGE, verbs, changes });
  const publishing = new Publishing(name, store, changes, registration);
  const requests = new SocketRequests(name, (inbox) => env.INBOX.getByName(inbox));
  const endpoint = new SocketEndpoint({
    sockets,
    store,
    verbs,
    publishing,
    changes,
    limits,
    relays,
    requests,
  });
  const usage = () => ({ ...store.sql.usage, ...count() });
  const admin = new TopicAdmin({
    name,
    store,
    changes,
    registration,
    endpoint,
    polls,
    usage,
    forgetPush: (subscription) => webhooks.forget(subscription),
  });
  const streams = new Streams({
    name,
    store,
    changes,
    polls,
    registration,
    destroy: () => admin.destroy(),
    source: ((topic: string) => env.TOPIC.getByName(topic)) as unknown as ForkSource,
  });
  const analytics = new TopicAnalytics({
    dataset: env.ANALYTICS,
    kv: ctx.storage.kv,
    rowsWritten: () => store.sql.usage.rowsWritten,
    metrics: () => admin.metrics(),
  });
  const operations = new Operations(store, changes, (topic, source, after) =>
    env.TOPIC.getByName(topic).deadLettersOf(source, after),
  );
  return {
    name,
    store,
    polls,
    alarm,
    changes,
    housekeeping,
    publishing,
    verbs,
    endpoint,
    events: new SocketEvents(name, endpoint),
    admin,
    remote,
    streams,
    operations,
    queue: new Queue({ store, changes, admin, publishing, verbs }),
    analytics,
  };
}

/**
 * The one alarm: close expired sockets, expire the stream, run housekeeping, write the
 * analytics round when one is due, then react.
 */
export async function runAlarm(p: TopicParts): Promise<void> {
  p.alarm.fired();
  const now = Date.now();
  p.endpoint.closeExpired(now);
  if (await p.streams.expireIfDue(now)) return;
  await p.housekeeping.run(now);
  p.analytics.write(now);
  p.changes.react();
}

/** Operating a subscription: purge, and redrive of its dead letters (./purge.ts, ./redrive.ts). */
export class Operations {
  readonly #store: TopicStore;
  readonly #changes: Changes;
  readonly #readDeadLetters: ReadDeadLetters;

  constructor(store: TopicStore, changes: Changes, readDeadLetters: ReadDeadLetters) {
    this.#store = store;
    this.#changes = changes;
    this.#readDeadLetters = readDeadLetters;
  }

  purge(name: string): Result<PurgeResult> {
    const subscription = this.#store.subscriptions.get(name);
    if (!subscription) return noSubscription(name);
    return ok({ purged: this.#changes.apply(() => purge(this.#store, subscription)) });
  }

  redrive(name: string): Promise<Result<RedriveResult>> {
    return redrive(this.#store, this.#changes, name, this.#readDeadLetters);
  }

  deadLettersOf(source: DeadLetterSource, after: number): Result<DeadLetterPage> {
    return deadLettersOf(this.#store, source, after);
  }
}

/**
 * How a push request leaves the object: `fetch` for a URL (never following a redirect), or the
 * `fetch` of the service binding a push config names (another Worker, no public URL).
 */
function pushTransport(env: Env): PushTransport {
  return (push, request, signal) => {
    if (push.service === null) return fetch(request, { signal, redirect: "manual" });
    const binding = (env as unknown as Record<string, unknown>)[push.service] as Fetcher | undefined;
    if (typeof binding?.fetch !== "function") {
      return Promise.reject(new Error(`the worker has no service binding named ${push.service}`));
    }
    return binding.fetch(request, { signal, redirect: "manual" });
  };
}
