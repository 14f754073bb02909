// The rows an accepted message creates for its recipients, whichever way it was submitted: one
// delivery per recipient, queued — or, for an address inactive on the stream, final at once as
// suppressed with an event saying so, so every recipient still has a recorded outcome.
import type { NewDeliveryRow, NewMessageEventRow } from "../store/schema.js";
import { domainOf } from "../shared/email-address.js";

export interface RecipientRows {
  deliveries: NewDeliveryRow[];
  events: NewMessageEventRow[];
}

export function recipientRows(input: {
  messageId: string;
  workspaceId: string;
  recipients: Array<{ email: string; key: string }>;
  suppressed: ReadonlySet<string>;
  now: number;
}): RecipientRows {
  const { messageId, workspaceId, now } = input;
  const deliveries: NewDeliveryRow[] = [];
  const events: NewMessageEventRow[] = [];
  for (const r of input.recipients) {
    const suppressed = input.suppressed.has(r.key);
    deliveries.push({
      message_id: messageId,
      workspace_id: workspaceId,
      recipient: r.email,
      domain: domainOf(r.email),
      state: suppressed ? "suppressed" : "queued",
      attempts: 0,
      next_attempt_at: now,
      lease_owner: null,
      last_reply: suppressed ? "recipient is inactive on this stream" : null,
      created_at: now,
      updated_at: now,
    });
    if (suppressed) {
      events.push({
        message_id: messageId,
        workspace_id: workspaceId,
        recipient: r.email,
        type: "Suppressed",
        details_json: JSON.stringify({ Summary: "Not delivered: the recipient is inactive on this stream." }),
        created_at: now,
      });
    }
  }
  return { deliveries, events };
}
