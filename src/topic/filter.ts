import type { SubscriptionConfig } from "../protocol/topic-rpc";

/** A message as a filter sees it: its attributes, as stored (JSON text, or null for none). */
export interface Filterable {
  attributes: string | null;
}

/** Whether a message passes a subscription's filter (every named attribute has the value). */
export function matches(filter: SubscriptionConfig["filter"], message: Filterable): boolean {
  const wanted = filter?.attributes;
  if (!wanted) return true;
  const attributes: Record<string, string> = message.attributes ? JSON.parse(message.attributes) : {};
  return Object.entries(wanted).every(([name, value]) => attributes[name] === value);
}
