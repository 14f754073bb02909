// Delivery status notifications (RFC 3464 DSNs) to the original sender, for messages that asked:
// - failed: a delivery bounced during our session, bounced by a later report that came back by
//   mail (an asynchronous bounce: bounce intake records delivery.bounced with origin "report"), or
//   ran out of retries; for SMTP submissions with NOTIFY=FAILURE, or all API mail when
//   POSTHORN_DSN_FOR_API is set. Operators' purges are not reported.
// - delayed: NOTIFY=DELAY, once, at a recipient's first deferral (not at every retry: a sender
//   learns "it is late" once, and the failure notice follows if it never goes; Postfix's
//   delay_warning_time sends one warning the same way). The recorder marks that event.
// - relayed: NOTIFY=SUCCESS, when the next hop will not report delivery itself (it lacks DSN, or
//   its reports come back to our VERP return path). When the hop took NOTIFY=SUCCESS with the
//   sender's own return path, the hop reports instead (RFC 3461 §5.2.2). The recorder marks it.
// A notice is queued in the same transaction as the outcomes it reports, as an ordinary message
// with a null envelope sender: delivered by the same MTA, and never itself bounced back (RFC 5321
// §4.5.5).
import type { Reaction } from "../../events/outbox.js";
import type { AttemptData, RecordedEventOf } from "../../events/event-map.js";
import type { MessagesService } from "../../messages/messages.service.js";
import { decodeDsnRequest, wantsFailureNotice } from "../../messages/dsn-request.js";
import { addressKey } from "../../shared/email-address.js";
import type { Clock } from "../../shared/clock.js";
import { newMessageId } from "../../shared/ids.js";
import { buildDsn, dsnStatus, DSN_SUBJECT_DELAYED, DSN_SUBJECT_DELIVERED, DSN_SUBJECT_FAILED, type DsnAction, type DsnRecipient } from "./dsn.builder.js";

type Failure = RecordedEventOf<"delivery.bounced"> | RecordedEventOf<"delivery.expired">;
type Reported = Failure | RecordedEventOf<"delivery.deferred"> | RecordedEventOf<"delivery.delivered">;

const STATUS_PATTERN = /^[245]\.\d{1,3}\.\d{1,3}$/;

export function failureNoticeReaction(deps: { hostname: string; clock: Clock; messages: Pick<MessagesService, "forNotices" | "recordNotice"> }): Reaction {
  return {
    name: "mta: failure notices to senders who asked",
    types: ["delivery.bounced", "delivery.expired", "delivery.deferred", "delivery.delivered"],
    async handle(trx, events, outbox) {
      // Cheap first: most events owe nothing, and need no read of their message.
      const candidates = events.filter((e): e is Reported => {
        switch (e.type) {
          case "delivery.expired":
            return true;
          case "delivery.bounced":
            return e.data.origin === "session" || e.data.origin === "report";
          case "delivery.deferred":
          case "delivery.delivered":
            return e.data.notice !== undefined;
          default:
            return false;
        }
      });
      if (candidates.length === 0) return;
      const originals = await deps.messages.forNotices(trx, [...new Set(candidates.map((f) => f.messageId!))]);
      const byMessage = new Map<string, Reported[]>();
      for (const event of candidates) {
        const message = originals.get(event.messageId!);
        if (!message?.envelopeFrom) continue;
        if (event.type === "delivery.bounced" || event.type === "delivery.expired") {
          // NOTIFY is per recipient (RFC 3461 §4.1): NOTIFY=NEVER, or a list without FAILURE, is not reported.
          if (!message.notifyFailure || !wantsFailureNotice(decodeDsnRequest(message.dsnJson), event.recipient!)) continue;
        }
        const list = byMessage.get(message.id);
        if (list) list.push(event);
        else byMessage.set(message.id, [event]);
      }
      const now = deps.clock.now();
      const postmaster = `postmaster@${deps.hostname}`;
      for (const [messageId, list] of byMessage) {
        const message = originals.get(messageId)!;
        const dsn = decodeDsnRequest(message.dsnJson);
        const id = newMessageId(now);
        const recipients = list.map((event) => ({
          finalRecipient: event.recipient!,
          originalRecipient: dsn?.recipients[addressKey(event.recipient!)]?.orcpt ?? null,
          ...reportOf(event),
          lastAttempt: new Date(now),
          willRetryUntil: null,
        }));
        const raw = buildDsn({
          reportingMta: deps.hostname,
          // The bare address: the builder writes the display name (giving it here wrapped it twice).
          postmaster,
          to: message.envelopeFrom,
          messageId: `<${id}@${deps.hostname}>`,
          date: new Date(now),
          originalMessageId: /^message-id:\s*(<[^>\r\n]+>)/im.exec(message.headers.toString("latin1"))?.[1] ?? null,
          originalHeaders: message.headers,
          arrivalDate: new Date(message.acceptedAt),
          envelopeId: dsn?.envelopeId ?? null,
          recipients,
        });
        await deps.messages.recordNotice(trx, outbox, {
          id,
          workspaceId: message.workspaceId,
          stream: message.stream,
          from: { email: postmaster, name: "Mail Delivery System" },
          to: message.envelopeFrom,
          subject: subjectOf(recipients),
          mime: raw,
          now,
        });
      }
    },
  };
}

function subjectOf(recipients: ReadonlyArray<{ action: DsnAction }>): string {
  if (recipients.some((r) => r.action === "failed")) return DSN_SUBJECT_FAILED;
  if (recipients.some((r) => r.action === "delayed")) return DSN_SUBJECT_DELAYED;
  return DSN_SUBJECT_DELIVERED;
}

type Report = Pick<DsnRecipient, "action" | "status" | "diagnostic" | "diagnosticType" | "remoteMta">;

function reportOf(event: Reported): Report {
  switch (event.type) {
    case "delivery.delivered":
      return { action: "relayed", ...statusOf("relayed", false, event.data.attempt), remoteMta: event.data.attempt.remoteHost };
    case "delivery.deferred":
      return { action: "delayed", ...statusOf("delayed", false, event.data.attempt), remoteMta: event.data.attempt.remoteHost };
    case "delivery.expired":
      return { action: "failed", ...statusOf("failed", true, event.data.attempt), remoteMta: event.data.attempt.remoteHost };
    case "delivery.bounced":
      if (event.data.origin === "report") return { action: "failed", ...reportedFailure(event.data.summary, event.data.reportedStatus ?? null) };
      return { action: "failed", ...statusOf("failed", false, event.data.attempt), remoteMta: event.data.attempt?.remoteHost ?? null };
  }
}

/**
 * Status and Diagnostic-Code of one of our own attempts. A server's reply is reported as "smtp;
 * <reply>" with its enhanced status. Without one (a DNS failure, a connection that never opened),
 * the status the outcome was given (5.1.2 for a domain that does not exist) and our reason as
 * "X-Posthorn;"; an expiry with neither is RFC 3463's 4.4.7, "delivery time expired".
 */
function statusOf(action: DsnAction, expired: boolean, attempt: AttemptData | null): Pick<DsnRecipient, "status" | "diagnostic" | "diagnosticType"> {
  const reply = attempt && attempt.code !== null ? { code: attempt.code, enhanced: attempt.enhanced, text: attempt.reply } : null;
  if (reply) return { status: dsnStatus(reply, action), diagnostic: reply.text, diagnosticType: "smtp" };
  const own = attempt?.enhanced && STATUS_PATTERN.test(attempt.enhanced) ? attempt.enhanced : null;
  const status = own ?? (expired ? "4.4.7" : dsnStatus(null, action));
  return { status, diagnostic: attempt?.reply ? attempt.reply : null, diagnosticType: "X-Posthorn" };
}

/**
 * A failure reported later by mail, from what bounce intake recorded: the report's Status, and a summary "<diagnostic>
 * (reported by <mta>)", the diagnostic as the report gave it ("smtp; 550 5.1.1 …", "X-Postfix;
 * host not found"), or "status 5.1.1" when it gave none. The diagnostic's own type is kept rather
 * than written under "smtp;" a second time.
 */
export function reportedFailure(summary: string, reportedStatus: string | null): Omit<Report, "action"> {
  let text = summary.trim();
  let remoteMta: string | null = null;
  const by = /\s*\(reported by ([^()\s]+)\)$/.exec(text);
  if (by) {
    remoteMta = by[1]!;
    text = text.slice(0, by.index);
  }
  const bare = /^status ([245]\.\d{1,3}\.\d{1,3})$/.exec(text);
  if (bare) return { status: bare[1]!, diagnostic: null, diagnosticType: "smtp", remoteMta };
  const typed = /^([A-Za-z][\w.-]*)\s*;\s*([^]*)$/.exec(text);
  const diagnosticType = typed ? typed[1]! : /^\d{3}[\s-]/.test(text) ? "smtp" : "X-Posthorn";
  const diagnostic = typed ? typed[2]! : text;
  const enhanced = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(diagnostic);
  const status = reportedStatus && STATUS_PATTERN.test(reportedStatus) ? reportedStatus : enhanced ? enhanced[0] : "5.0.0";
  return { status, diagnostic: diagnostic === "" ? null : diagnostic, diagnosticType, remoteMta };
}
