// The acceptance policy on messages from both doors: structured drafts (after validateMessage)
// and raw messages (as SMTP submits them) meet the same rules with the same errors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isPosthornError } from "../../shared/errors.js";
import type { MessageDraft } from "../message.types.js";
import { validateMessage } from "../message.validation.js";
import { checkContent, resolveStream } from "./acceptance.policy.js";
import { viewOfRaw, viewOfStructured } from "./message-view.js";
import { structuredSubmission, type RawContent } from "./submission.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const recipients = (n: number, domain = "example.org") => Array.from({ length: n }, (_, i) => `r${i}@${domain}`);

function structured(over: Partial<MessageDraft> = {}) {
  const draft: MessageDraft = {
    from: "Shop <orders@shop.example>", to: "ana@example.org", cc: null, bcc: null, replyTo: null, subject: "Your order",
    htmlBody: null, textBody: "Thanks!", tag: null, headers: [], attachments: [], metadata: {}, stream: null, trackOpens: false, trackLinks: "none",
    ...over,
  };
  return viewOfStructured(validateMessage(draft));
}

function raw(over: Partial<RawContent> & { headers?: string[]; body?: string } = {}) {
  const mime = Buffer.from(`${(over.headers ?? ["From: Shop <orders@shop.example>", "To: ana@example.org", "Subject: Your order"]).join("\r\n")}\r\n\r\n${over.body ?? "Thanks!\r\n"}`);
  return viewOfRaw({ kind: "raw", envelopeFrom: "orders@shop.example", recipients: ["ana@example.org"], mime, keepMessageId: false, ...over });
}

/** A multipart/mixed message with one attachment named `name`, as a mail client writes it. */
function withAttachment(name: string, disposition = `attachment; filename="${name}"`) {
  return [
    "From: orders@shop.example", "To: ana@example.org", "Subject: files", "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b1"', "",
    "--b1", "Content-Type: text/plain", "", "See attached.", "--b1", `Content-Type: application/octet-stream`, `Content-Disposition: ${disposition}`, "Content-Transfer-Encoding: base64", "", "aGk=", "--b1--", "",
  ].join("\r\n");
}

function refused(view: ReturnType<typeof raw>, code: string, message?: RegExp | string) {
  assert.throws(
    () => checkContent(view),
    (err) => {
      assert.ok(isPosthornError(err, code), `expected ${code}, got ${String(err)}`);
      if (typeof message === "string") assert.equal(err.message, message);
      else if (message) assert.match(err.message, message);
      return true;
    },
  );
}

describe("the acceptance policy", () => {
  it("refuses a message without recipients, from either door", () => {
    refused(structured({ to: null }), "MESSAGE_INVALID", "Zero recipients specified");
    refused(structured({ to: " , ", cc: "" }), "MESSAGE_INVALID", "Zero recipients specified");
    refused(raw({ recipients: [] }), "MESSAGE_INVALID", "Zero recipients specified");
  });

  it("refuses more than 50 unique recipients, from either door, and counts each address once", () => {
    const over = /Too many recipients: 51\. .*at most 50/;
    refused(structured({ to: recipients(30).join(", "), cc: recipients(11, "cc.example").join(", "), bcc: recipients(10, "bcc.example").join(", ") }), "MESSAGE_INVALID", over);
    refused(raw({ recipients: recipients(51) }), "MESSAGE_INVALID", over);
    assert.equal(checkContent(raw({ recipients: [...recipients(50), "R0@EXAMPLE.org"] })).length, 50);
  });

  it("takes its limits from the caller", () => {
    assert.throws(() => checkContent(structured({ to: recipients(3).join(", ") }), { ...DEFAULTS, maxRecipients: 2 }), /at most 2/);
    assert.throws(() => checkContent(raw(), { ...DEFAULTS, maxMessageBytes: 10 }), (err) => isPosthornError(err, "MESSAGE_TOO_LARGE"));
  });

  for (const name of ["setup.exe", "RUN.BAT", "x.vbs", "tool.jar", "a.js", "setup.exe. "]) {
    it(`forbids the attachment ${JSON.stringify(name)} from either door`, () => {
      const message = /Forbidden attachment type/;
      refused(structured({ attachments: [{ name, content: b64("hi"), contentType: "text/plain", contentId: null }] }), "MESSAGE_FORBIDDEN_ATTACHMENT", message);
      refused(raw({ mime: Buffer.from(withAttachment(name)) }), "MESSAGE_FORBIDDEN_ATTACHMENT", message);
    });
  }

  it("finds a raw message's attachments by Content-Type name, RFC 2231 and RFC 2047 names, inline parts included", () => {
    assert.deepEqual(raw({ mime: Buffer.from(withAttachment("report.pdf")) }).attachments, ["report.pdf"]);
    assert.deepEqual(raw({ mime: Buffer.from(withAttachment("x", "attachment; filename*0*=UTF-8''%E2%82%AC%20rates; filename*1=.exe")) }).attachments, ["€ rates.exe"]);
    assert.deepEqual(raw({ mime: Buffer.from(withAttachment("x", 'inline; filename="=?UTF-8?Q?Caf=C3=A9.png?="')) }).attachments, ["Café.png"]);
    refused(raw({ mime: Buffer.from(withAttachment("x", "attachment; filename*=UTF-8''setup%2Eexe")) }), "MESSAGE_FORBIDDEN_ATTACHMENT");
    assert.deepEqual(raw().attachments, []);
  });

  it("refuses raw mail without a From field, with a bad envelope sender or a bad recipient", () => {
    refused(raw({ headers: ["Subject: no from"] }), "MESSAGE_INVALID", /no From header/);
    refused(raw({ envelopeFrom: "" }), "MESSAGE_INVALID", /Invalid envelope sender/);
    refused(raw({ recipients: ["not an address"] }), "MESSAGE_INVALID", "Invalid recipient: 'not an address'.");
  });

  it("resolves the stream: the bound one, else the one asked for, else the default; a bound stream may only be repeated", () => {
    const submission = structuredSubmission(validateMessage({ ...DRAFT, stream: "broadcast" }));
    assert.equal(resolveStream(submission), "broadcast");
    assert.equal(resolveStream({ ...submission, stream: null }), "outbound");
    assert.equal(resolveStream({ ...submission, stream: null, boundStream: "news" }), "news");
    assert.equal(resolveStream({ ...submission, stream: "news", boundStream: "news" }), "news");
    assert.throws(() => resolveStream({ ...submission, stream: "outbound", boundStream: "news" }), (err) => isPosthornError(err, "STREAM_NOT_SENDABLE"));
  });
});

const DRAFT: MessageDraft = {
  from: "orders@shop.example", to: "ana@example.org", cc: null, bcc: null, replyTo: null, subject: "", htmlBody: null, textBody: "x",
  tag: null, headers: [], attachments: [], metadata: {}, stream: null, trackOpens: false, trackLinks: "none",
};
const DEFAULTS = { maxRecipients: 50, maxMessageBytes: 10 * 1024 * 1024, maxBodyBytes: 5 * 1024 * 1024, maxSubjectChars: 2000, maxTagChars: 1000, maxMetadataFields: 10, maxMetadataKeyChars: 20, maxMetadataValueChars: 80 };
