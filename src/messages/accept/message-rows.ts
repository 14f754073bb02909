// The rows an accepted message becomes, whichever door it came by: the message (its record and its
// MIME) and one delivery per unique recipient — queued, or for an address inactive on the stream,
// final at once as suppressed with an event saying so, so every recipient has a recorded outcome.
// A sandboxed workspace's message gets no delivery at all: nothing may leave.
import type { NewDeliveryRow, NewMessageEventRow, NewMessageRow } from "../../store/schema.js";
import { domainOf } from "../../shared/email-address.js";
import { encodeDsnRequest } from "../dsn-request.js";
import type { Address } from "../message.types.js";
import type { Candidate } from "./candidate.js";

export interface AcceptedRows {
  messages: NewMessageRow[];
  deliveries: NewDeliveryRow[];
  events: NewMessageEventRow[];
}

export function acceptedRows(candidates: Candidate[], now: number, failureNoticesByDefault: boolean): AcceptedRows {
  const rows: AcceptedRows = { messages: [], deliveries: [], events: [] };
  for (const c of candidates) {
    const { view, submission, workspace } = c;
    const sandboxed = workspace.sandbox;
    const allSuppressed = c.recipients.every((r) => r.suppressed);
    rows.messages.push({
      id: c.id,
      workspace_id: workspace.id,
      stream: c.stream,
      envelope_from: view.envelopeFrom,
      from_header: view.from === null ? "" : view.from.email ? formatAddress(view.from) : view.from.name,
      to_json: JSON.stringify(view.to.map(toStored)),
      cc_json: JSON.stringify(view.cc.map(toStored)),
      bcc_json: JSON.stringify(view.bcc.map(toStored)),
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
      status: sandboxed ? "Processed" : allSuppressed ? "Sent" : "Queued",
      dsn_notify: (submission.failureNotices ?? failureNoticesByDefault) ? 1 : 0,
      dsn_json: submission.dsn ? encodeDsnRequest(submission.dsn) : null,
      created_at: now,
    });
    if (sandboxed) continue;
    for (const r of c.recipients) {
      rows.deliveries.push({
        message_id: c.id,
        workspace_id: workspace.id,
        recipient: r.email,
        domain: domainOf(r.email),
        state: r.suppressed ? "suppressed" : "queued",
        attempts: 0,
        next_attempt_at: now,
        lease_owner: null,
        last_reply: r.suppressed ? "recipient is inactive on this stream" : null,
        created_at: now,
        updated_at: now,
      });
      if (r.suppressed) {
        rows.events.push({
          message_id: c.id,
          workspace_id: workspace.id,
          recipient: r.email,
          type: "Suppressed",
          details_json: JSON.stringify({ Summary: "Not delivered: the recipient is inactive on this stream." }),
          created_at: now,
        });
      }
    }
  }
  return rows;
}

function toStored(a: Address) {
  return { Email: a.email, Name: a.name };
}

/** A mailbox as a header value: the name quoted when RFC 5322 specials require it. */
export function formatAddress(a: Address): string {
  if (!a.name) return a.email;
  const needsQuotes = /[(),.:;<>@[\\\]"]/.test(a.name);
  return needsQuotes ? `"${a.name.replace(/(["\\])/g, "\\$1")}" <${a.email}>` : `${a.name} <${a.email}>`;
}
