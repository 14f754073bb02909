// The compose step: every accepted message leaves it as the RFC 5322 bytes that are stored and
// sent. Structured content is built into MIME (mime.builder.ts); raw content stays as the client
// wrote it, except for the fields Posthorn owns: our Message-ID (<id>@<hostname>, by which reports
// are matched to the message) unless the client asked to keep its own, and a Date when missing
// (RFC 6409 §8.2–8.3 let a submission server add both).
import type { AcceptStep } from "../messages/accept/accept.step.js";
import { pending } from "../messages/accept/accept.step.js";
import type { Candidate } from "../messages/accept/candidate.js";
import type { RawContent } from "../messages/accept/submission.js";
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
        c.mime = content.kind === "structured" ? buildMimeSync(content.message, { messageId, date }) : withOwnedFields(content, messageId, date);
      }
    },
  };
}

function withOwnedFields(raw: RawContent, messageId: string, date: Date): Buffer {
  const { fields, body } = splitMessage(raw.mime);
  let kept = fields;
  if (!(raw.keepMessageId && findField(kept, "message-id"))) {
    kept = kept.filter((f) => f.name.toLowerCase() !== "message-id");
    kept.unshift({ name: "Message-ID", text: `Message-ID: ${messageId}` });
  }
  if (!findField(kept, "date")) kept.unshift({ name: "Date", text: `Date: ${date.toUTCString().replace("GMT", "+0000")}` });
  return joinMessage(kept, body);
}
