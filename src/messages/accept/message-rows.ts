// The rows an accepted message becomes, whichever door it came by: the message (its record and its
// MIME) and one delivery per unique recipient — queued, or for an address inactive on the stream,
// final at once as suppressed with an event saying so, so every recipient has a recorded outcome —
// and the events that say so. A sandboxed workspace's message gets no delivery: nothing may leave.
import type { NewDeliveryRow, NewMessageRow } from "../../store/schema.js";
import type { NewEvent } from "../../events/event-map.js";
import { domainOf } from "../../shared/email-address.js";
import { encodeDsnRequest } from "../dsn-request.js";
import { encodePerDelivery, needsPerDelivery } from "../per-delivery.js";
import type { Address } from "../message.types.js";
import type { Candidate } from "./candidate.js";

export interface AcceptedRows {
  messages: NewMessageRow[];
  deliveries: NewDeliveryRow[];
  events: NewEvent[];
}

export function acceptedRows(candidates: Candidate[], now: number, failureNoticesByDefault: boolean): AcceptedRows {
  const rows: AcceptedRows = { messages: [], deliveries: [], events: [] };
  for (const c of candidates) {
    const { view, submission, workspace } = c;
    const sandboxed = workspace.sandbox;
    const allSuppressed = c.recipients.every((r) => r.suppressed);
    // A delivery due later (send_at) counts its age from when it is due, so the queue's maximum
    // age (POSTHORN_MAX_QUEUE_AGE) gives it the same retries as one due now.
    const dueAt = submission.notBefore && submission.notBefore > now ? submission.notBefore : now;
    const message: NewMessageRow = {
      id: c.id,
      workspace_id: workspace.id,
      stream: c.stream,
      envelope_from: view.envelopeFrom,
      from_json: JSON.stringify(stored(view.from ?? { email: "", name: "" })),
      to_json: JSON.stringify(view.to.map(stored)),
      cc_json: JSON.stringify(view.cc.map(stored)),
      bcc_json: JSON.stringify(view.bcc.map(stored)),
      subject: view.subject,
      tag: submission.tag,
      metadata_json: JSON.stringify(submission.metadata),
      track_opens: submission.trackOpens ? 1 : 0,
      track_links: submission.trackLinks,
      attachments_json: JSON.stringify(view.attachments),
      text_body: view.textBody,
      html_body: view.htmlBody,
      mime: c.mime!,
      sandboxed: sandboxed ? 1 : 0,
      state: sandboxed ? "sandboxed" : allSuppressed ? "finished" : "queued",
      dsn_notify: (submission.failureNotices ?? failureNoticesByDefault) ? 1 : 0,
      dsn_json: submission.dsn ? encodeDsnRequest(submission.dsn) : null,
      ...(needsPerDelivery(c.perDelivery) ? { per_delivery_json: encodePerDelivery(c.perDelivery) } : {}),
      created_at: now,
    };
    // Set only when given, so rows without a key keep the column list (and insert text) they had.
    if (submission.idempotencyKey) message.idempotency_key = submission.idempotencyKey;
    if (c.traceparent) message.traceparent = c.traceparent;
    rows.messages.push(message);
    const about = { workspaceId: workspace.id, messageId: c.id };
    rows.events.push({ ...about, recipient: null, type: "message.accepted", data: { stream: c.stream, recipients: c.recipients.length, tag: submission.tag, sandboxed, trackOpens: submission.trackOpens, trackLinks: submission.trackLinks, ...(c.trackedLinks ? { trackedLinks: c.trackedLinks } : {}) } });
    if (sandboxed) continue;
    for (const r of c.recipients) {
      rows.deliveries.push({
        message_id: c.id,
        workspace_id: workspace.id,
        recipient: r.email,
        domain: domainOf(r.email),
        stream: c.stream,
        state: r.suppressed ? "suppressed" : "queued",
        attempts: 0,
        next_attempt_at: dueAt,
        lease_owner: null,
        last_reply: r.suppressed ? "recipient is inactive on this stream" : null,
        created_at: dueAt,
        updated_at: now,
      });
      if (r.suppressed) rows.events.push({ ...about, recipient: r.email, type: "delivery.suppressed", data: { stream: c.stream } });
    }
  }
  return rows;
}

function stored(a: Address) {
  return { address: a.email, name: a.name };
}
