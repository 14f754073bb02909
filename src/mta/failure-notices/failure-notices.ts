// Failure notices (RFC 3464 DSNs) to the original sender, for messages that asked for them (SMTP
// submissions with NOTIFY=FAILURE, or all API mail when POSTHORN_DSN_FOR_API is set). A notice is
// queued in the same transaction as the outcomes it reports, as an ordinary message with a null
// envelope sender: delivered by the same MTA, and never itself bounced back (RFC 5321 §4.5.5).
import type { Db } from "../../store/store.js";
import type { MessagesRepository } from "../../messages/messages.repository.js";
import { addressKey, domainOf } from "../../shared/email-address.js";
import { newMessageId } from "../../shared/ids.js";
import { buildDsn, dsnStatus, DSN_SUBJECT_FAILED } from "./dsn.builder.js";
import { wantsFailureNotice } from "../../messages/dsn-request.js";
import type { Planned } from "../queue/outcome.recorder.js";

/** Queues one notice per message with failed recipients among `failures`; returns how many. */
export async function queueFailureNotices(
  trx: Db,
  input: { failures: Planned[]; hostname: string; messages: MessagesRepository; now: number },
): Promise<number> {
  const byMessage = new Map<string, Planned[]>();
  for (const failure of input.failures) {
    const message = failure.notice.item.message;
    if (!message.notifyFailure || !message.envelopeFrom) continue;
    // NOTIFY is per recipient (RFC 3461 §4.1): NOTIFY=NEVER, or a list without FAILURE, is not reported.
    if (!wantsFailureNotice(message.dsn, failure.notice.item.delivery.recipient)) continue;
    const list = byMessage.get(message.id);
    if (list) list.push(failure);
    else byMessage.set(message.id, [failure]);
  }
  const postmaster = `postmaster@${input.hostname}`;
  for (const failures of byMessage.values()) {
    const message = failures[0]!.notice.item.message;
    const id = newMessageId(input.now);
    const headers = message.originalHeaders;
    const raw = buildDsn({
      reportingMta: input.hostname,
      postmaster: `Mail Delivery System <${postmaster}>`,
      to: message.envelopeFrom,
      messageId: `<${id}@${input.hostname}>`,
      date: new Date(input.now),
      originalMessageId: /^message-id:\s*(<[^>\r\n]+>)/im.exec(headers.toString("latin1"))?.[1] ?? null,
      originalHeaders: headers,
      arrivalDate: new Date(message.receivedAt),
      envelopeId: message.dsn?.envelopeId ?? null,
      recipients: failures.map((f) => ({
        finalRecipient: f.notice.item.delivery.recipient,
        originalRecipient: message.dsn?.recipients[addressKey(f.notice.item.delivery.recipient)]?.orcpt ?? null,
        action: "failed" as const,
        // An expiry without any reply is RFC 3463's 4.4.7, "delivery time expired".
        status: f.update.state === "expired" && !f.notice.reply ? "4.4.7" : dsnStatus(f.notice.reply, "failed"),
        remoteMta: f.notice.item.attempt.remoteHost,
        diagnostic: f.notice.reply ? f.notice.reply.text : null,
        lastAttempt: new Date(input.now),
        willRetryUntil: null,
      })),
    });
    await input.messages.insertAccepted(
      trx,
      [
        {
          id,
          workspace_id: message.workspaceId,
          stream: message.stream,
          envelope_from: "",
          from_header: `Mail Delivery System <${postmaster}>`,
          to_json: JSON.stringify([{ Email: message.envelopeFrom, Name: "" }]),
          cc_json: "[]",
          bcc_json: "[]",
          subject: DSN_SUBJECT_FAILED,
          tag: null,
          metadata_json: "{}",
          track_opens: 0,
          track_links: "None",
          attachments_json: "[]",
          text_body: null,
          html_body: null,
          mime: raw,
          sandboxed: 0,
          status: "Queued",
          created_at: input.now,
        },
      ],
      [
        {
          message_id: id,
          workspace_id: message.workspaceId,
          recipient: message.envelopeFrom,
          domain: domainOf(message.envelopeFrom),
          state: "queued",
          attempts: 0,
          next_attempt_at: input.now,
          lease_owner: null,
          last_reply: null,
          created_at: input.now,
          updated_at: input.now,
        },
      ],
      [],
    );
  }
  return byMessage.size;
}
