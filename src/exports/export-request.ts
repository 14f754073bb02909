// Reads the App API's export bodies into our words, refusing what is bad with the path of the bad
// field:
//   POST /v1/exports/customers   {filters: <filter tree>}                  (createCustomersExport)
//   POST /v1/exports/deliveries  {newsletter_id, start?, end?, attributes?, metric?, drafts?}
// The filter tree is the one broadcasts and triggerBroadcast read (parseRecipientFilter, with its
// depth and size limits), and like theirs it may use a segment only where it is required.
import { parseRecipientFilter, BROADCAST_LIMITS } from "../broadcasts/broadcast-definition.js";
import { pageable } from "../broadcasts/audience.reader.js";
import { ExportInvalid } from "./exports.errors.js";
import type { DeliveryStatusFilter, ExportRequest } from "./exports.types.js";

export const EXPORT_LIMITS = {
  /** Filter tree nesting and conditions: the broadcasts' limits (one parser). */
  filterDepth: BROADCAST_LIMITS.filterDepth,
  filterLeaves: BROADCAST_LIMITS.filterLeaves,
  /** Person attributes a deliveries export may add as columns. */
  attributes: 100,
  attributeNameChars: 150,
} as const;

/**
 * Customer.io's DeliveryExportMetric values and what the outreach ledger knows of each. The
 * ledger records a mail as accepted or skipped, and then delivered, opened, clicked, bounced and
 * unsubscribed (a spam complaint counts as an unsubscribe there, as Customer.io unsubscribes on
 * both). Conversions, failures after acceptance and spam complaints apart from unsubscribes are not
 * kept per message, so those metrics are refused rather than answered with a wrong file.
 */
export const METRICS: Record<string, DeliveryStatusFilter | null> = {
  created: null,
  attempted: "accepted",
  sent: "accepted",
  delivered: "delivered",
  opened: "opened",
  clicked: "clicked",
  bounced: "bounced",
  unsubscribed: "unsubscribed",
  dropped: "skipped",
  undeliverable: "skipped",
};
const NOT_KEPT = new Set(["converted", "spammed", "failed"]);

const refuse = (message: string, field: string): never => {
  throw ExportInvalid(`${field}: ${message}`, { field });
};

export function parseCustomersExport(body: unknown): ExportRequest {
  if (!isObject(body) || body.filters === undefined || body.filters === null) return refuse('is required: {"filters": {"and" or "or": [...]}}', "filters");
  const filter = parseRecipientFilter((body as Record<string, unknown>).filters, "filters", refuse);
  const why = pageable(filter);
  if (why) refuse(why, "filters");
  return { kind: "customers", filter };
}

export function parseDeliveriesExport(body: unknown): ExportRequest {
  if (!isObject(body)) return refuse("the body must be a JSON object", "body");
  const b = body as Record<string, unknown>;
  const id = b.newsletter_id;
  const broadcastId = typeof id === "number" && Number.isSafeInteger(id) && id > 0 ? String(id) : typeof id === "string" && /^[1-9]\d{0,14}$/.test(id) ? id : refuse("is required: a newsletter (broadcast) id", "newsletter_id");
  const from = time(b.start, "start");
  const until = time(b.end, "end");
  if (from !== null && until !== null && from > until) refuse("is before start", "end");
  const attributes = names(b.attributes);
  let metric: string | null = null;
  let status: DeliveryStatusFilter | null = null;
  if (b.metric !== undefined && b.metric !== null) {
    if (typeof b.metric !== "string") refuse("must be text", "metric");
    metric = b.metric as string;
    if (NOT_KEPT.has(metric)) refuse(`${metric} is not recorded per message by this server; use created, attempted, sent, delivered, opened, clicked, bounced, unsubscribed, dropped or undeliverable`, "metric");
    if (!(metric in METRICS)) refuse(`must be one of ${Object.keys(METRICS).join(", ")}`, "metric");
    status = METRICS[metric] ?? null;
  }
  // Posthorn has no draft messages: drafts is read and checked, and changes nothing.
  if (b.drafts !== undefined && b.drafts !== null && typeof b.drafts !== "boolean") refuse("must be true or false", "drafts");
  return { kind: "deliveries", broadcastId, from, until, attributes, metric, status };
}

function time(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1e11) return refuse("must be unix seconds", field);
  return Math.floor(value * 1000);
}

function names(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return refuse("must be an array of attribute names", "attributes");
  if (value.length > EXPORT_LIMITS.attributes) refuse(`at most ${EXPORT_LIMITS.attributes} attributes`, "attributes");
  const seen = new Set<string>();
  return (value as unknown[]).flatMap((v, i) => {
    if (typeof v !== "string" || v === "" || v.length > EXPORT_LIMITS.attributeNameChars) refuse(`must be a non-empty attribute name (${EXPORT_LIMITS.attributeNameChars} characters at most)`, `attributes[${i}]`);
    if (seen.has(v as string)) return [];
    seen.add(v as string);
    return [v as string];
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
