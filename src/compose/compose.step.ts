// The compose step: every accepted message leaves it as the RFC 5322 bytes that are stored and
// sent. Structured content is built into MIME (mime.builder.ts); raw content stays as the client
// wrote it, except for the fields Posthorn owns: our Message-ID (<id>@<hostname>, by which reports
// are matched to the message) unless the client asked to keep its own, and a Date when missing
// (RFC 6409 §8.2–8.3 let a submission server add both), and a Received field on top when the
// door says who handed the message over (SMTP submission; RFC 5321 §4.4: every server that takes
// a message in adds one). It is added here, not at the SMTP edge, because it names the message's
// id, which acceptance gives. The MTA signs what is stored, this field included, so DKIM holds.
//
// The field names the client's IP address, as Postfix and RFC 5321 §4.4 do (the address literal
// is what makes the trace useful to an abuse desk). The client is an application server, not a
// person, so this exposes infrastructure rather than a user; an operator who minds can NAT it.
import type { AcceptStep } from "../messages/accept/accept.step.js";
import { pending } from "../messages/accept/accept.step.js";
import type { Candidate } from "../messages/accept/candidate.js";
import type { RawContent, ReceivedTrace } from "../messages/accept/submission.js";
import { findField, joinMessage, splitMessage } from "../messages/raw-headers.js";
import { buildMimeSync } from "./mime.builder.js";

export function composeStep(deps: { hostname: string; now: () => number }): AcceptStep {
  return {
    name: "compose",
    run(candidates: Candidate[]) {
      const date = new Date(deps.now());
      for (const c of pending(candidates)) {
        const messageId = `<${c.id}@${deps.hostname}>`;
        const content = c.submission.content;
        c.mime = content.kind === "structured" ? buildMimeSync(content.message, { messageId, date }) : withOwnedFields(content, messageId, date, { id: c.id, by: deps.hostname });
      }
    },
  };
}

function withOwnedFields(raw: RawContent, messageId: string, date: Date, us: { id: string; by: string }): Buffer {
  const { fields, body } = splitMessage(raw.mime);
  let kept = fields;
  if (!(raw.keepMessageId && findField(kept, "message-id"))) {
    kept = kept.filter((f) => f.name.toLowerCase() !== "message-id");
    kept.unshift({ name: "Message-ID", text: `Message-ID: ${messageId}` });
  }
  if (!findField(kept, "date")) kept.unshift({ name: "Date", text: `Date: ${rfc5322Date(date)}` });
  if (raw.trace) kept.unshift({ name: "Received", text: receivedField(raw.trace, us.by, us.id, date) });
  return joinMessage(kept, body);
}

function rfc5322Date(date: Date): string {
  return date.toUTCString().replace("GMT", "+0000");
}

/**
 * RFC 5321 §4.4: "Received: from <EHLO name> ([<address>]) by <us> with <protocol> id <id>; <date>",
 * folded. The EHLO name is the client's word: anything but domain and address-literal characters
 * is dropped, so it cannot break the field's syntax.
 */
export function receivedField(trace: ReceivedTrace, by: string, id: string, date: Date): string {
  const helo = trace.helo.replace(/[^A-Za-z0-9.:[\]_-]/g, "").slice(0, 255) || "unknown";
  const ip = trace.clientAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
  const literal = ip.includes(":") ? `[IPv6:${ip}]` : `[${ip}]`;
  return `Received: from ${helo} (${literal})\r\n\tby ${by} (Posthorn) with ${trace.protocol} id ${id};\r\n\t${rfc5322Date(date)}`;
}
