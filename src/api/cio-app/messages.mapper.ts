// A message the outreach mailer sent to a person, in the shape of Customer.io's customer messages
// (GET /v1/customers/{id}/messages). Differences, because the ledger keeps statuses, not their
// times: `metrics` gives `sent` at the message's creation and every later status at the time of
// the record's last change; `statuses` (Posthorn's) lists them in order. Ids of journeys and
// broadcasts are integers (campaign_id, broadcast_id); action_id is the journey step's id (text).
import type { Person } from "../../people/people.port.js";
import type { OutreachMessage } from "../../channels/email/outreach.port.js";
import { identifiersJson } from "./app-api.mapper.js";

const seconds = (ms: number) => Math.floor(ms / 1000);

export function outreachMessageJson(person: Person, m: OutreachMessage): Record<string, unknown> {
  const origin = m.origin;
  const metrics: Record<string, number> = { sent: seconds(m.createdAt) };
  for (const status of m.statuses) if (status !== "sent") metrics[status] = seconds(m.updatedAt);
  return {
    id: m.deliveryId,
    deduplicate_id: `${m.deliveryId}:${seconds(m.updatedAt)}`,
    type: "email",
    customer_id: person.id,
    customer_identifiers: identifiersJson(person),
    recipient: m.recipient,
    subject: m.subject,
    created: seconds(m.createdAt),
    metrics,
    statuses: m.statuses,
    campaign_id: origin.kind === "journey" ? Number(origin.journeyId) : null,
    action_id: origin.kind === "journey" ? origin.stepId : null,
    broadcast_id: origin.kind === "broadcast" ? Number(origin.broadcastId) : null,
    newsletter_id: origin.kind === "broadcast" ? Number(origin.broadcastId) : null,
    transactional_message_id: origin.kind === "transactional" ? origin.transactionalId : null,
  };
}
