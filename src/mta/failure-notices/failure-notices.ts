// Failure notices (RFC 3464 DSNs) to the original sender, for messages that asked for them (SMTP
// submissions with NOTIFY=FAILURE, or all API mail when POSTHORN_DSN_FOR_API is set): a reaction
// to deliveries that bounced during our session or whose retries ran out. A notice is queued in
// the same transaction as the outcomes it reports, as an ordinary message with a null envelope
// sender: delivered by the same MTA, and never itself bounced back (RFC 5321 §4.5.5).
import type { Reaction } from "../../events/outbox.js";
import type { RecordedEventOf } from "../../events/event-map.js";
import type { MessagesService } from "../../messages/messages.service.js";
import { decodeDsnRequest, wantsFailureNotice } from "../../messages/dsn-request.js";
import { addressKey } from "../../shared/email-address.js";
import type { Clock } from "../../shared/clock.js";
import { newMessageId } from "../../shared/ids.js";
import type { AttemptData } from "../../events/event-map.js";
import { buildDsn, dsnStatus, DSN_SUBJECT_FAILED, type DsnRecipient } from "./dsn.builder.js";

type Failure = RecordedEventOf<"delivery.bounced"> | RecordedEventOf<"delivery.expired">;

export function failureNoticeReaction(deps: { hostname: string; clock: Clock; messages: Pick<MessagesService, "forNotices" | "recordNotice"> }): Reaction {
  return {
    name: "mta: failure notices to senders who asked",
    types: ["delivery.bounced", "delivery.expired"],
    async handle(trx, events, outbox) {
      // Reports by mail and operators' purges are not ours to notify about: only our own attempts.
      const failures = events.filter((e): e is Failure => e.type === "delivery.expired" || (e.type === "delivery.bounced" && e.data.origin === "session"));
      if (failures.length === 0) return;
      const originals = await deps.messages.forNotices(trx, [...new Set(failures.map((f) => f.messageId!))]);
      const byMessage = new Map<string, Failure[]>();
      for (const failure of failures) {
        const message = originals.get(failure.messageId!);
        if (!message?.notifyFailure || !message.envelopeFrom) continue;
        // NOTIFY is per recipient (RFC 3461 §4.1): NOTIFY=NEVER, or a list without FAILURE, is not reported.
        if (!wantsFailureNotice(decodeDsnRequest(message.dsnJson), failure.recipient!)) continue;
        const list = byMessage.get(message.id);
        if (list) list.push(failure);
        else byMessage.set(message.id, [failure]);
      }
      const now = deps.clock.now();
      const postmaster = `postmaster@${deps.hostname}`;
      for (const [messageId, list] of byMessage) {
        const message = originals.get(messageId)!;
        const dsn = decodeDsnRequest(message.dsnJson);
        const id = newMessageId(now);
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
          recipients: list.map((f) => {
            const attempt = f.data.attempt;
            return {
              finalRecipient: f.recipient!,
              originalRecipient: dsn?.recipients[addressKey(f.recipient!)]?.orcpt ?? null,
              action: "failed" as const,
              ...statusOf(f.type === "delivery.expired", attempt),
              remoteMta: attempt?.remoteHost ?? null,
              lastAttempt: new Date(now),
              willRetryUntil: null,
            };
          }),
        });
        await deps.messages.recordNotice(trx, outbox, {
          id,
          workspaceId: message.workspaceId,
          stream: message.stream,
          from: { email: postmaster, name: "Mail Delivery System" },
          to: message.envelopeFrom,
          subject: DSN_SUBJECT_FAILED,
          mime: raw,
          now,
        });
      }
    },
  };
}

const STATUS_PATTERN = /^[245]\.\d{1,3}\.\d{1,3}$/;

/**
 * Status and Diagnostic-Code of a failed recipient. A server's reply is reported as "smtp; <reply>"
 * with its enhanced status. Without one (a DNS failure, a connection that never opened), the status
 * the outcome was given (5.1.2 for a domain that does not exist) and our reason as "X-Posthorn;";
 * an expiry with neither is RFC 3463's 4.4.7, "delivery time expired".
 */
function statusOf(expired: boolean, attempt: AttemptData | null): Pick<DsnRecipient, "status" | "diagnostic" | "diagnosticType"> {
  const reply = attempt && attempt.code !== null ? { code: attempt.code, enhanced: attempt.enhanced, text: attempt.reply } : null;
  if (reply) return { status: dsnStatus(reply, "failed"), diagnostic: reply.text, diagnosticType: "smtp" };
  const own = attempt?.enhanced && STATUS_PATTERN.test(attempt.enhanced) ? attempt.enhanced : null;
  const status = own ?? (expired ? "4.4.7" : dsnStatus(null, "failed"));
  return { status, diagnostic: attempt?.reply ? attempt.reply : null, diagnosticType: "X-Posthorn" };
}
