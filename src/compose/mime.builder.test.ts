import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { simpleParser, type AddressObject } from "mailparser";
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import type { OutgoingMessage } from "../messages/message.types.js";
import { buildMime, mailComposerOptions } from "./mime.builder.js";

const opts = { messageId: "<0a1b-2c3d@mail.posthorn.test>", date: new Date("2024-05-06T07:08:09Z") };

function message(over: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    from: { email: "orders@shop.example", name: "Shop" },
    to: [{ email: "ana@example.org", name: "Ana Silva" }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject: "Your order",
    htmlBody: null,
    textBody: "Thanks for your order.\nIt ships tomorrow.",
    tag: null,
    headers: [],
    attachments: [],
    metadata: {},
    stream: "outbound",
    trackOpens: false,
    trackLinks: "none",
    ...over,
  };
}

const png = { name: "logo.png", content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]), contentType: "image/png", contentId: "logo.png" };
const pdf = { name: "invoice.pdf", content: Buffer.from("%PDF-1.4 fake"), contentType: "application/pdf", contentId: null };

/** The header block of the top-level entity, unfolded. */
function topHeaders(raw: Buffer): string {
  const s = raw.toString("latin1");
  return s.slice(0, s.indexOf("\r\n\r\n")).replace(/\r\n[ \t]/g, " ");
}

function addresses(a: AddressObject | AddressObject[] | undefined) {
  return (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value.map((v) => ({ name: v.name, address: v.address })));
}

describe("buildMime", () => {
  it("writes text plus html as multipart/alternative", async () => {
    const raw = await buildMime(message({ htmlBody: "<p>Thanks</p>" }), opts);
    assert.match(topHeaders(raw), /^Content-Type: multipart\/alternative;/m);
    const mail = await simpleParser(raw);
    assert.equal(mail.text?.trim(), "Thanks for your order.\nIt ships tomorrow.");
    assert.equal(mail.html, "<p>Thanks</p>");
    assert.equal(mail.attachments.length, 0);
  });

  it("writes a text-only message as a single text/plain part", async () => {
    const raw = await buildMime(message(), opts);
    assert.match(topHeaders(raw), /^Content-Type: text\/plain/m);
    assert.doesNotMatch(topHeaders(raw), /multipart/);
  });

  it("puts attachments in multipart/mixed and inline parts in multipart/related with a Content-ID", async () => {
    const raw = await buildMime(message({ htmlBody: '<img src="cid:logo.png">', attachments: [pdf, png] }), opts);
    const text = raw.toString("latin1");
    assert.match(topHeaders(raw), /^Content-Type: multipart\/mixed;/m);
    assert.match(text, /^Content-Type: multipart\/alternative;/m);
    assert.match(text, /^Content-Type: multipart\/related; type="text\/html";/m);
    assert.match(text, /^Content-ID: <logo\.png>$/m);
    assert.match(text, /^Content-Disposition: inline; filename=logo\.png$/m);
    const mail = await simpleParser(raw, { keepCidLinks: true });
    const byName = new Map(mail.attachments.map((a) => [a.filename, a]));
    assert.deepEqual(byName.get("logo.png")?.content, png.content);
    assert.equal(byName.get("logo.png")?.cid, "logo.png");
    assert.equal(byName.get("logo.png")?.related, true);
    assert.deepEqual(byName.get("invoice.pdf")?.content, pdf.content);
    assert.equal(byName.get("invoice.pdf")?.contentType, "application/pdf");
    assert.equal(byName.get("invoice.pdf")?.contentDisposition, "attachment");
  });

  it("writes the address headers, Date and Message-ID, and never Bcc", async () => {
    const raw = await buildMime(
      message({
        cc: [{ email: "bo@example.org", name: "" }],
        bcc: [{ email: "secret-audit@shop.example", name: "Audit" }],
        replyTo: [{ email: "help@shop.example", name: "Help Desk" }],
      }),
      opts,
    );
    const headers = topHeaders(raw);
    assert.doesNotMatch(raw.toString("latin1"), /secret-audit|^Bcc:/im);
    assert.match(headers, /^Date: Mon, 06 May 2024 07:08:09 \+0000$/m);
    assert.match(headers, /^Message-ID: <0a1b-2c3d@mail\.posthorn\.test>$/m);
    assert.match(headers, /^MIME-Version: 1\.0$/m);
    const mail = await simpleParser(raw);
    assert.deepEqual(addresses(mail.from), [{ name: "Shop", address: "orders@shop.example" }]);
    assert.deepEqual(addresses(mail.to), [{ name: "Ana Silva", address: "ana@example.org" }]);
    assert.deepEqual(addresses(mail.cc), [{ name: "", address: "bo@example.org" }]);
    assert.deepEqual(addresses(mail.replyTo), [{ name: "Help Desk", address: "help@shop.example" }]);
    assert.equal(mail.bcc, undefined);
    assert.equal(mail.date?.toISOString(), opts.date.toISOString());
  });

  it("writes custom headers with their own spelling, and a custom Message-ID in place of ours", async () => {
    const raw = await buildMime(
      message({
        headers: [
          { name: "X-PM-Tag", value: "spring" },
          { name: "List-Unsubscribe", value: "<mailto:unsub@shop.example>" },
          { name: "X-Repeat", value: "1" },
          { name: "X-Repeat", value: "2" },
          { name: "Message-ID", value: "<thread-7@shop.example>" },
        ],
      }),
      opts,
    );
    const headers = topHeaders(raw);
    assert.match(headers, /^X-PM-Tag: spring$/m);
    assert.match(headers, /^List-Unsubscribe: <mailto:unsub@shop\.example>$/m);
    assert.match(headers, /^X-Repeat: 1$[\s\S]*^X-Repeat: 2$/m);
    assert.match(headers, /^Message-ID: <thread-7@shop\.example>$/m);
    assert.equal(headers.match(/^Message-ID:/gim)?.length, 1);
  });

  it("encodes UTF-8 subjects, names and header values as encoded words", async () => {
    const subject = "Grüße aus Köln — ваш заказ 🎉";
    const raw = await buildMime(
      message({
        subject,
        from: { email: "zoe@shop.example", name: "Zoë Ünïcode" },
        to: [{ email: "ana@xn--bcher-kva.de", name: "Łukasz, \"the\" buyer" }],
        headers: [{ name: "X-Note", value: "naïve" }],
        textBody: "Prix : 10 €",
      }),
      opts,
    );
    assert.ok(topHeaders(raw).split("").every((c) => c.charCodeAt(0) < 128), "headers are 7-bit");
    assert.match(topHeaders(raw), /^Subject: =\?UTF-8\?[QB]\?/m);
    const mail = await simpleParser(raw);
    assert.equal(mail.subject, subject);
    assert.deepEqual(addresses(mail.from), [{ name: "Zoë Ünïcode", address: "zoe@shop.example" }]);
    assert.match(topHeaders(raw), /^To: .* <ana@xn--bcher-kva\.de>$/m);
    // mailparser shows the domain in Unicode again
    assert.deepEqual(addresses(mail.to), [{ name: 'Łukasz, "the" buyer', address: "ana@bücher.de" }]);
    assert.match(topHeaders(raw), /^X-Note: =\?UTF-8\?Q\?na=C3=AFve\?=$/m);
    assert.equal(mail.text?.trim(), "Prix : 10 €");
  });

  it("ends every line with CRLF, keeps lines short and ends the message with CRLF", async () => {
    const msgs = [
      message(),
      message({ textBody: "no newline at the end" }),
      message({ textBody: "lf\nonly\n\nand\rlone cr\r\nand crlf", htmlBody: "<p>\n" + "x".repeat(3000) + "\n</p>" }),
      message({ htmlBody: "<b>é</b>\n", attachments: [pdf, png] }),
      message({ attachments: [{ name: "fwd.eml", content: Buffer.from("Subject: old\n\nbody\n"), contentType: "message/rfc822", contentId: null }] }),
    ];
    for (const m of msgs) {
      const raw = (await buildMime(m, opts)).toString("latin1");
      assert.doesNotMatch(raw, /\r(?!\n)|(?<!\r)\n/, "bare CR or LF");
      assert.ok(raw.endsWith("\r\n"), "ends with CRLF");
      for (const line of raw.split("\r\n")) assert.ok(line.length <= 998, `line of ${line.length} octets (RFC 5322 §2.1.1)`);
    }
  });

  // The streaming quoted-printable encoder works in 64 KB slices and so places some soft line
  // breaks ("=" CRLF) elsewhere in longer bodies; both forms decode to the same text.
  const withoutSoftBreaks = (raw: Buffer) => raw.toString("latin1").replace(/=\r\n/g, "");

  it("writes exactly what MailComposer's own streaming build() writes", async () => {
    const qpHeavy = ("Grüße, " + "long line ".repeat(20) + "\n").repeat(800); // > 64 KB of quoted-printable
    const msgs = [
      message(),
      message({ htmlBody: "<p>Thanks</p>", subject: "" }),
      message({ htmlBody: '<img src="cid:logo.png">', attachments: [pdf, png], replyTo: [{ email: "r@shop.example", name: "R" }] }),
      message({ textBody: null, htmlBody: '<img src="cid:logo.png">', attachments: [png] }),
      message({ textBody: qpHeavy, htmlBody: "<p>" + "日本語のテキスト".repeat(500) + "</p>" }),
      message({ headers: [{ name: "X-PM-Tag", value: "a".repeat(300) + " b" }, { name: "X-Ü", value: "ü" }] }),
      message({ attachments: [{ name: "big.bin", content: Buffer.alloc(100_000, 7), contentType: "application/octet-stream", contentId: null }] }),
    ];
    for (const m of msgs) {
      const ours = await buildMime(m, opts);
      const boundary = /boundary="?--_NmP-([0-9a-f-]+)-Part_/.exec(ours.toString("latin1"))?.[1] ?? "fixed";
      const theirs = await new MailComposer(mailComposerOptions(m, opts, boundary)).compile().build();
      if (ours.length < 60_000) assert.equal(ours.toString("latin1"), theirs.toString("latin1"));
      else assert.equal(withoutSoftBreaks(ours), withoutSoftBreaks(theirs));
    }
  });
});
