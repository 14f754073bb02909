// The inbound payload built from realistic raw messages (CRLF, as they arrive over SMTP).
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatInboundMessage, mailboxHash, type InboundEnvelope, type PostmarkInboundMessage } from "./inbound-message.format.js";
import { hasSpamHeaders } from "./spam-headers.js";

const OPTIONS = { messageId: "7d0f4c1e-9a43-4a5e-8f0b-2c1d3e4f5a6b", messageStream: "inbound" };
const ENVELOPE: InboundEnvelope = { mailFrom: "jane.doe@example.com", recipient: "abc123+order-55@inbound.posthorn.test", inboundHash: "abc123" };
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex");

const raw = (...lines: string[]): Buffer => Buffer.from(lines.join("\r\n"), "utf8");
const format = (message: Buffer, envelope: InboundEnvelope = ENVELOPE, options: Partial<typeof OPTIONS> & { includeRawEmail?: boolean; maxAttachmentBytes?: number } = {}): Promise<PostmarkInboundMessage> =>
  formatInboundMessage(message, envelope, { ...OPTIONS, ...options });
const header = (m: PostmarkInboundMessage, name: string): string | undefined => m.Headers.find((h) => h.Name.toLowerCase() === name.toLowerCase())?.Value;
const names = (m: PostmarkInboundMessage): string[] => m.Headers.map((h) => h.Name);

const GMAIL_REPLY = raw(
  "Received: from mail-sor-f41.google.com (mail-sor-f41.google.com [209.85.220.41])",
  "\tby mx.inbound.posthorn.test with ESMTPS; Tue, 01 Oct 2024 08:00:02 +0000",
  "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;",
  "        d=example.com; s=20230601; t=1727769600;",
  "        h=to:subject:message-id:date:from:in-reply-to:references:mime-version;",
  "        bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AbCd",
  "MIME-Version: 1.0",
  "References: <order-55@shop.example>",
  "In-Reply-To: <order-55@shop.example>",
  "From: Jane Doe <jane.doe@example.com>",
  "Date: Tue, 1 Oct 2024 10:00:01 +0200",
  "Message-ID: <CAF=reply-1@mail.gmail.com>",
  "Subject: Re: Your order #55",
  'To: "Shop Support" <abc123+order-55@inbound.posthorn.test>, "Firstname Lastname" <mail@example.com>,',
  " plain@example.com",
  "Cc: Bob <bob+cc@example.com>, \"Smith, Ann\" <ann@example.com>",
  "Reply-To: jane.private@example.com",
  "X-PM-Tag: should-not-become-the-tag",
  'Content-Type: multipart/alternative; boundary="000000000000a1b2c3"',
  "",
  "--000000000000a1b2c3",
  'Content-Type: text/plain; charset="UTF-8"',
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "Thanks! Could you ship it to my office instead? The caf=C3=A9 on the ground fl=",
  "oor takes parcels.",
  "",
  "On Mon, Sep 30, 2024 at 6:12 PM Shop Support <support@shop.example>",
  "wrote:",
  "",
  "> Your order #55 has shipped.",
  "> Track it here: https://shop.example/t/55",
  ">",
  "",
  "--000000000000a1b2c3",
  'Content-Type: text/html; charset="UTF-8"',
  "Content-Transfer-Encoding: quoted-printable",
  "",
  '<div dir=3D"ltr">Thanks! Could you ship it to my office instead?</div><div class=3D"gmail_quote">',
  "<blockquote>Your order #55 has shipped.</blockquote></div>",
  "",
  "--000000000000a1b2c3--",
  "",
);

test("Gmail reply: addresses, subject, date, bodies and the stripped reply", async () => {
  const m = await format(GMAIL_REPLY);
  assert.equal(m.From, "jane.doe@example.com");
  assert.equal(m.FromName, "Jane Doe");
  assert.deepEqual(m.FromFull, { Email: "jane.doe@example.com", Name: "Jane Doe", MailboxHash: "" });
  assert.equal(m.To, '"Shop Support" <abc123+order-55@inbound.posthorn.test>, "Firstname Lastname" <mail@example.com>, plain@example.com');
  assert.deepEqual(m.ToFull, [
    { Email: "abc123+order-55@inbound.posthorn.test", Name: "Shop Support", MailboxHash: "order-55" },
    { Email: "mail@example.com", Name: "Firstname Lastname", MailboxHash: "" },
    { Email: "plain@example.com", Name: "", MailboxHash: "" },
  ]);
  assert.equal(m.Cc, '"Bob" <bob+cc@example.com>, "Smith, Ann" <ann@example.com>');
  assert.deepEqual(m.CcFull, [
    { Email: "bob+cc@example.com", Name: "Bob", MailboxHash: "cc" },
    { Email: "ann@example.com", Name: "Smith, Ann", MailboxHash: "" },
  ]);
  // The recipient is in To: no Bcc.
  assert.equal(m.Bcc, "");
  assert.deepEqual(m.BccFull, []);
  assert.equal(m.OriginalRecipient, "abc123+order-55@inbound.posthorn.test");
  assert.equal(m.MailboxHash, "order-55");
  assert.equal(m.ReplyTo, "jane.private@example.com");
  assert.equal(m.Subject, "Re: Your order #55");
  assert.equal(m.Date, "Tue, 1 Oct 2024 10:00:01 +0200");
  assert.equal(m.MessageID, OPTIONS.messageId);
  assert.equal(m.MessageStream, "inbound");
  assert.equal(m.Tag, "");
  assert.ok(m.TextBody.startsWith("Thanks! Could you ship it to my office instead? The café on the ground floor takes parcels.\r\n\r\nOn Mon, Sep 30"));
  assert.ok(m.TextBody.includes("> Your order #55 has shipped.\r\n"));
  assert.ok(!/[^\r]\n/.test(m.TextBody), "CRLF line endings");
  assert.equal(m.HtmlBody, '<div dir="ltr">Thanks! Could you ship it to my office instead?</div><div class="gmail_quote">\r\n<blockquote>Your order #55 has shipped.</blockquote></div>\r\n');
  assert.equal(m.StrippedTextReply, "Thanks! Could you ship it to my office instead? The café on the ground floor takes parcels.");
  assert.deepEqual(m.Attachments, []);
  assert.equal("RawEmail" in m, false);
});

test("Gmail reply: Headers keep every field but the lifted ones, in order, unfolded", async () => {
  const m = await format(GMAIL_REPLY);
  assert.deepEqual(names(m), ["Return-Path", "Received", "DKIM-Signature", "MIME-Version", "References", "In-Reply-To", "Message-ID", "X-PM-Tag"]);
  assert.equal(header(m, "Return-Path"), "<jane.doe@example.com>");
  assert.equal(header(m, "Received"), "from mail-sor-f41.google.com (mail-sor-f41.google.com [209.85.220.41])\tby mx.inbound.posthorn.test with ESMTPS; Tue, 01 Oct 2024 08:00:02 +0000");
  assert.equal(
    header(m, "DKIM-Signature"),
    "v=1; a=rsa-sha256; c=relaxed/relaxed;        d=example.com; s=20230601; t=1727769600;        h=to:subject:message-id:date:from:in-reply-to:references:mime-version;        bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AbCd",
  );
  assert.equal(header(m, "Message-ID"), "<CAF=reply-1@mail.gmail.com>");
  assert.equal(header(m, "X-PM-Tag"), "should-not-become-the-tag");
  assert.equal(hasSpamHeaders(m.Headers), false);
});

test("Outlook reply: windows-1252 quoted-printable body, From/Sent block stripped", async () => {
  const m = await format(
    raw(
      "Return-Path: <prvs=0123=jane@contoso.example>",
      "From: Jane Doe <jane@contoso.example>",
      "To: Support <support+ticket-981@acme.test>",
      "Subject: RE: Ticket 981",
      "Thread-Topic: Ticket 981",
      "Thread-Index: AQHbE1Zk",
      "Date: Tue, 1 Oct 2024 08:30:00 +0000",
      "Message-ID: <DB9PR01MB1234@DB9PR01MB1234.eurprd01.prod.outlook.com>",
      "Accept-Language: en-US",
      "Content-Language: en-US",
      "X-MS-Has-Attach:",
      "Content-Type: text/plain; charset=\"Windows-1252\"",
      "Content-Transfer-Encoding: quoted-printable",
      "MIME-Version: 1.0",
      "",
      "The caf=E9 order arrived, thank you.",
      "",
      "Jane",
      "",
      "________________________________",
      "From: Support <support@acme.test>",
      "Sent: Monday, September 30, 2024 5:00 PM",
      "To: Jane Doe <jane@contoso.example>",
      "Subject: Ticket 981",
      "",
      "Has your order arrived?",
      "",
    ),
    { mailFrom: "prvs=0123=jane@contoso.example", recipient: "support+ticket-981@acme.test", inboundHash: null },
  );
  assert.equal(m.MailboxHash, "ticket-981");
  assert.equal(m.ToFull[0]?.MailboxHash, "ticket-981");
  assert.equal(m.TextBody.split("\r\n")[0], "The café order arrived, thank you.");
  assert.equal(m.StrippedTextReply, "The café order arrived, thank you.\r\n\r\nJane");
  assert.equal(m.HtmlBody, "");
  // Return-Path came with the message: not added again.
  assert.deepEqual(
    m.Headers.filter((h) => h.Name === "Return-Path"),
    [{ Name: "Return-Path", Value: "<prvs=0123=jane@contoso.example>" }],
  );
  assert.equal(header(m, "X-MS-Has-Attach"), "");
  assert.equal(header(m, "Content-Type"), undefined);
  assert.equal(header(m, "Content-Transfer-Encoding"), undefined);
  assert.equal(header(m, "Content-Language"), "en-US");
});

test("HTML-only message: TextBody and StrippedTextReply stay empty, HtmlBody is the HTML", async () => {
  const m = await format(
    raw(
      "From: news@shop.example",
      "To: abc123@inbound.posthorn.test",
      "Subject: Newsletter",
      "MIME-Version: 1.0",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from("<html><body><h1>Sale</h1>\r\n<p>Everything 20% off</p></body></html>\r\n").toString("base64"),
      "",
    ),
  );
  assert.equal(m.TextBody, "");
  assert.equal(m.StrippedTextReply, "");
  assert.equal(m.HtmlBody, "<html><body><h1>Sale</h1>\r\n<p>Everything 20% off</p></body></html>\r\n");
  assert.equal(m.FromName, "");
  assert.equal(m.From, "news@shop.example");
});

test("attachments: inline image with Content-ID, a PDF with an RFC 2231 name, an embedded message", async () => {
  const m = await format(
    raw(
      "From: Jane Doe <jane.doe@example.com>",
      "To: abc123+order-55@inbound.posthorn.test",
      "Subject: Photos and invoice",
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="mixed"',
      "",
      "--mixed",
      'Content-Type: multipart/related; boundary="related"',
      "",
      "--related",
      'Content-Type: multipart/alternative; boundary="alt"',
      "",
      "--alt",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "See the photo.",
      "--alt",
      "Content-Type: text/html; charset=utf-8",
      "",
      '<p>See the photo: <img src="cid:photo1@example.com"></p>',
      "--alt--",
      "",
      "--related",
      "Content-Type: image/png",
      "Content-Transfer-Encoding: base64",
      "Content-ID: <photo1@example.com>",
      'Content-Disposition: inline; filename="photo.png"',
      "",
      PNG.toString("base64"),
      "--related--",
      "",
      "--mixed",
      "Content-Type: application/pdf",
      "Content-Transfer-Encoding: base64",
      "Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf",
      "",
      Buffer.from("%PDF-1.4 fake").toString("base64"),
      "--mixed",
      "Content-Type: message/rfc822",
      'Content-Disposition: attachment; filename="original.eml"',
      "",
      "From: shop@shop.example",
      "Subject: Your order",
      "",
      "Original text",
      "--mixed--",
      "",
    ),
  );
  assert.equal(m.TextBody, "See the photo.");
  assert.equal(m.HtmlBody, '<p>See the photo: <img src="cid:photo1@example.com"></p>', "cid: links left as they are");
  assert.equal(m.Attachments.length, 3);
  const [photo, pdf, eml] = m.Attachments;
  assert.deepEqual(photo, { Name: "photo.png", Content: PNG.toString("base64"), ContentType: "image/png", ContentLength: PNG.length, ContentID: "photo1@example.com" });
  assert.equal(pdf?.Name, "Rechnung März.pdf");
  assert.equal(pdf?.ContentType, "application/pdf");
  assert.equal(Buffer.from(pdf?.Content ?? "", "base64").toString(), "%PDF-1.4 fake");
  assert.equal(pdf?.ContentLength, 13);
  assert.equal(pdf?.ContentID, "");
  assert.equal(eml?.Name, "original.eml");
  assert.equal(eml?.ContentType, "message/rfc822");
  assert.ok(Buffer.from(eml?.Content ?? "", "base64").toString().includes("Subject: Your order"));
  assert.ok(!m.TextBody.includes("Original text"), "the embedded message is not part of the body");
});

test("maxAttachmentBytes leaves out whole attachments past the total", async () => {
  const message = raw(
    "From: a@example.com",
    "To: abc123@inbound.posthorn.test",
    'Content-Type: multipart/mixed; boundary="b"',
    "",
    "--b",
    "Content-Type: text/plain",
    "",
    "two files",
    "--b",
    'Content-Type: application/octet-stream; name="a.bin"',
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.alloc(10, 1).toString("base64"),
    "--b",
    'Content-Type: application/octet-stream; name="b.bin"',
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.alloc(10, 2).toString("base64"),
    "--b--",
    "",
  );
  assert.equal((await format(message)).Attachments.length, 2);
  const limited = await format(message, ENVELOPE, { maxAttachmentBytes: 15 });
  assert.deepEqual(
    limited.Attachments.map((a) => a.Name),
    ["a.bin"],
  );
});

test("encoded words: subject folded over two encoded words, names, a custom header; 8-bit UTF-8 headers", async () => {
  const m = await format(
    raw(
      "From: =?ISO-8859-1?Q?Andr=E9_Dupr=E9?= <andre@example.fr>",
      "To: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <yamada+jp@example.jp>, =?UTF-8?Q?M=C3=BCller=2C_Hans?= <hans@example.de>",
      "Subject: =?UTF-8?Q?R=C3=A9ponse_=C3=A0_votre?=",
      " =?UTF-8?Q?_question_=E2=9C=93?=",
      "X-Custom: =?UTF-8?Q?caf=C3=A9?= au lait",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "Bonjour",
      "",
    ),
  );
  assert.equal(m.FromName, "André Dupré");
  assert.equal(m.Subject, "Réponse à votre question ✓");
  assert.deepEqual(m.ToFull, [
    { Email: "yamada+jp@example.jp", Name: "山田太郎", MailboxHash: "jp" },
    { Email: "hans@example.de", Name: "Müller, Hans", MailboxHash: "" },
  ]);
  assert.equal(m.To, '"山田太郎" <yamada+jp@example.jp>, "Müller, Hans" <hans@example.de>');
  assert.equal(header(m, "X-Custom"), "café au lait");

  const utf8 = await format(
    raw("From: Jürgen Groß <jürgen@exämple.de>", "To: abc123@inbound.posthorn.test", "Subject: Grüße aus Köln", "X-Note: naïve", "", "Hallo"),
    { mailFrom: "jürgen@exämple.de", recipient: "abc123@inbound.posthorn.test" },
  );
  assert.deepEqual(utf8.FromFull, { Email: "jürgen@exämple.de", Name: "Jürgen Groß", MailboxHash: "" });
  assert.equal(utf8.Subject, "Grüße aus Köln");
  assert.equal(header(utf8, "X-Note"), "naïve");
  assert.equal(utf8.MailboxHash, "");

  const latin1 = await format(Buffer.concat([Buffer.from("From: a@example.com\r\nX-Legacy: caf"), Buffer.from([0xe9]), Buffer.from("\r\n\r\nbody")]));
  assert.equal(header(latin1, "X-Legacy"), "café", "8-bit bytes that are not UTF-8 are read as Latin-1");
});

test("groups are flattened; Bcc header; a recipient not in To/Cc is reported as the Bcc", async () => {
  const listed = await format(
    raw("From: a@example.com", "To: Team: x@example.com, \"Y\" <y@example.com>;", "Cc: undisclosed-recipients:;", "Bcc: \"Hidden\" <abc123+b@inbound.posthorn.test>", "Subject: g", "", "b"),
    { mailFrom: "a@example.com", recipient: "abc123+b@inbound.posthorn.test" },
  );
  assert.equal(listed.To, 'x@example.com, "Y" <y@example.com>');
  assert.deepEqual(listed.CcFull, []);
  assert.equal(listed.Cc, "");
  assert.equal(listed.Bcc, '"Hidden" <abc123+b@inbound.posthorn.test>');
  assert.deepEqual(listed.BccFull, [{ Email: "abc123+b@inbound.posthorn.test", Name: "Hidden", MailboxHash: "b" }]);

  const forwarded = await format(raw("From: Rob <rob@example.com>", "To: mail@company.example", "Subject: fwd", "", "forwarded by a mailbox rule"), {
    mailFrom: "mail+caf_=abc123=inbound.posthorn.test@company.example",
    recipient: "abc123@inbound.posthorn.test",
  });
  assert.equal(forwarded.Bcc, "abc123@inbound.posthorn.test");
  assert.deepEqual(forwarded.BccFull, [{ Email: "abc123@inbound.posthorn.test", Name: "", MailboxHash: "" }]);

  const caseDiffers = await format(raw("From: a@example.com", "Cc: ABC123+X@Inbound.Posthorn.Test", "", "x"), { mailFrom: "", recipient: "abc123+X@inbound.posthorn.test" });
  assert.deepEqual(caseDiffers.BccFull, [], "matched without case");
});

test("Reply-To with several addresses; Date kept as sent, comment included", async () => {
  const m = await format(raw("From: a@example.com", "Reply-To: \"One\" <one@example.com>, two@example.com", "Date: Sat, 21 Feb 2015 09:06:57 -0800 (PST)", "", "x"));
  assert.equal(m.ReplyTo, "one@example.com, two@example.com");
  assert.equal(m.Date, "Sat, 21 Feb 2015 09:06:57 -0800 (PST)");
});

test("no From, malformed From, null sender", async () => {
  const none = await format(raw("To: abc123@inbound.posthorn.test", "Subject: who am I", "", "text"), { mailFrom: "", recipient: "abc123@inbound.posthorn.test" });
  assert.deepEqual(none.FromFull, { Email: "", Name: "", MailboxHash: "" });
  assert.equal(none.From, "");
  assert.equal(none.FromName, "");
  assert.equal(header(none, "Return-Path"), "<>");
  assert.equal(none.TextBody, "text");

  const malformed = await format(raw("From: not an address", "To: abc123@inbound.posthorn.test", "", "text"));
  assert.deepEqual(malformed.FromFull, { Email: "", Name: "not an address", MailboxHash: "" });
  assert.equal(malformed.From, "");
});

test("nested multipart/mixed, a list footer outside the alternative, and a headers-only message", async () => {
  const m = await format(
    raw(
      "From: list@lists.example",
      "To: abc123@inbound.posthorn.test",
      'Content-Type: multipart/mixed; boundary="outer"',
      "",
      "--outer",
      'Content-Type: multipart/mixed; boundary="inner"',
      "",
      "--inner",
      'Content-Type: multipart/alternative; boundary="alt"',
      "",
      "--alt",
      "Content-Type: text/plain",
      "",
      "Post text",
      "--alt",
      "Content-Type: text/html",
      "",
      "<p>Post text</p>",
      "--alt--",
      "--inner",
      'Content-Type: text/csv; name="data.csv"',
      "Content-Disposition: attachment",
      "",
      "a,b",
      "--inner--",
      "--outer",
      "Content-Type: text/plain; charset=us-ascii",
      "Content-Disposition: inline",
      "",
      "_______________________________________________",
      "List mailing list",
      "--outer--",
      "",
    ),
  );
  assert.equal(m.TextBody, "Post text\r\n_______________________________________________\r\nList mailing list");
  assert.equal(m.HtmlBody, "<p>Post text</p>", "no stray separator from the footer part");
  assert.deepEqual(
    m.Attachments.map((a) => [a.Name, a.ContentType, Buffer.from(a.Content, "base64").toString()]),
    [["data.csv", "text/csv", "a,b"]],
  );

  const headersOnly = await format(raw("From: a@example.com", "Subject: nothing else"));
  assert.equal(headersOnly.Subject, "nothing else");
  assert.equal(headersOnly.TextBody, "");
  assert.equal(headersOnly.HtmlBody, "");
  assert.equal(headersOnly.StrippedTextReply, "");
});

test("X-Spam-* headers from an upstream filter are kept as they are", async () => {
  const m = await format(raw("X-Spam-Status: No, score=-0.1 required=5.0", "X-Spam-Score: -0.1", "From: a@example.com", "", "x"));
  assert.equal(header(m, "X-Spam-Status"), "No, score=-0.1 required=5.0");
  assert.equal(hasSpamHeaders(m.Headers), true);
});

test("RawEmail only when asked for", async () => {
  const message = raw("From: a@example.com", "Subject: raw", "", "body ✓");
  const m = await format(message, ENVELOPE, { includeRawEmail: true });
  assert.equal(m.RawEmail, message.toString("utf8"));
  assert.equal((await format(message)).RawEmail, undefined);
});

test("empty buffer and garbage never throw and give empty fields", async () => {
  for (const input of [Buffer.alloc(0), Buffer.from([0, 1, 2, 255, 254, 10, 13, 10, 58, 58]), Buffer.from("::::\r\n\r\n--x--\r\n"), Buffer.from("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x--"), undefined as unknown as Buffer]) {
    const m = await format(input);
    assert.equal(m.From, "");
    assert.deepEqual(m.FromFull, { Email: "", Name: "", MailboxHash: "" });
    assert.equal(m.Subject, "");
    assert.equal(m.Date, "");
    assert.equal(m.StrippedTextReply, "");
    assert.equal(m.OriginalRecipient, ENVELOPE.recipient);
    assert.equal(m.MailboxHash, "order-55");
    assert.equal(m.MessageID, OPTIONS.messageId);
    assert.ok(Array.isArray(m.Headers) && Array.isArray(m.Attachments));
    assert.equal(header(m, "Return-Path"), "<jane.doe@example.com>");
  }
  const empty = await format(Buffer.alloc(0));
  assert.deepEqual(empty.Headers, [{ Name: "Return-Path", Value: "<jane.doe@example.com>" }]);
  assert.equal(empty.TextBody, "");
  assert.equal(empty.HtmlBody, "");
});

test("a message mailparser refuses (too many parts) still gives its headers", async () => {
  const parts: string[] = [];
  for (let i = 0; i < 1100; i++) parts.push("--x", "Content-Type: text/plain", "", `part ${i}`);
  const m = await format(raw("From: Many <many@example.com>", "Subject: parts", 'Content-Type: multipart/mixed; boundary="x"', "", ...parts, "--x--", ""));
  assert.equal(m.From, "many@example.com");
  assert.equal(m.Subject, "parts");
});

test("mailboxHash: after the first '+' of the local part", () => {
  assert.equal(mailboxHash("abc+order-55@inbound.posthorn.test"), "order-55");
  assert.equal(mailboxHash("abc123+a+b@inbound.posthorn.test"), "a+b");
  assert.equal(mailboxHash("support+x@acme.test"), "x");
  assert.equal(mailboxHash("<abc+y@acme.test>"), "y");
  assert.equal(mailboxHash("abc@inbound.posthorn.test"), "");
  assert.equal(mailboxHash("abc+@inbound.posthorn.test"), "");
  assert.equal(mailboxHash("abc@plus+domain.test"), "");
  assert.equal(mailboxHash(""), "");
  assert.equal(mailboxHash("local+only"), "only");
});
