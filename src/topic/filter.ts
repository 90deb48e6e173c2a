import type { SubscriptionConfig } from "../protocol/topic-rpc";
import type { MessageRow } from "./log";

/** Whether a message passes a subscription's filter (every named attribute has the value). */
export function matches(filter: SubscriptionConfig["filter"], row: MessageRow): boolean {
  const wanted = filter?.attributes;
  if (!wanted) return true;
  const attributes: Record<string, string> = row.attributes ? JSON.parse(row.attributes) : {};
  return Object.entries(wanted).every(([name, value]) => attributes[name] === value);
}
