// The activity list's filters, kept in the address's query so that a filtered view can be shared
// and survives a reload: ?q=…&recipient=…&tag=…&state=…&stream=…&from=…&to=…
import type { ActivityState } from "@contract/activity.contract";

export const STATES: readonly ActivityState[] = ["accepted", "queued", "deferred", "delivered", "bounced", "suppressed", "expired"];

export const FILTER_KEYS = ["q", "recipient", "tag", "state", "stream", "from", "to"] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

export function filtersOf(params: URLSearchParams): Filters {
  const out: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) out[key] = value;
  }
  return out;
}

export function hasFilters(filters: Filters): boolean {
  return Object.keys(filters).length > 0;
}

/** States a message can still leave: the list asks for these rows' states again. */
export function stillMoving(state: ActivityState): boolean {
  return state === "queued" || state === "deferred";
}
