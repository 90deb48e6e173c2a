import { mergePush } from "../protocol/push-config";
import type {
  SubscriptionConfig,
  SubscriptionConfigPatch,
  TopicConfig,
  TopicConfigPatch,
} from "../protocol/topic-rpc";

const DAY = 86_400_000;

/** A new topic keeps a week of messages, up to 1 GiB, and never drops unacked ones. */
export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  retention: { maxAge: 7 * DAY, maxMessages: null, maxBytes: 1024 ** 3 },
  onFull: "reject",
  dedupWindow: DAY,
  routes: [],
  schema: null,
};

export const DEFAULT_SUBSCRIPTION_CONFIG: SubscriptionConfig = {
  paused: false,
  push: null,
  ackTimeout: 30_000,
  maxAttempts: null,
  backoff: { min: 1_000, max: 60_000 },
  deadLetterTopic: null,
  filter: null,
  ordered: false,
};

export function mergeTopicConfig(base: TopicConfig, patch: TopicConfigPatch): TopicConfig {
  return {
    retention: { ...base.retention, ...patch.retention },
    onFull: patch.onFull ?? base.onFull,
    dedupWindow: patch.dedupWindow ?? base.dedupWindow,
    routes: patch.routes ?? base.routes,
    schema: patch.schema === undefined ? base.schema : patch.schema,
  };
}

/** A config as stored by any release: fields added since take their defaults. */
export function storedTopicConfig(stored: Partial<TopicConfig>): TopicConfig {
  return { ...DEFAULT_TOPIC_CONFIG, ...stored };
}

export function mergeSubscriptionConfig(
  base: SubscriptionConfig,
  patch: SubscriptionConfigPatch,
): SubscriptionConfig {
  const { startAt: _startAt, push, ...rest } = patch;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const merged = { ...base, ...defined, backoff: { ...base.backoff, ...patch.backoff } };
  if (push === null) merged.push = null;
  else if (push !== undefined) merged.push = mergePush(base.push, push);
  return merged;
}
