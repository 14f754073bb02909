import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { simpleParser, type ParsedMail } from "mailparser";
import { buildDsn, dsnStatus, DSN_SUBJECT_DELAYED, DSN_SUBJECT_DELIVERED, DSN_SUBJECT_FAILED, type DsnInput, type DsnRecipient } from "./dsn.builder.js";
import { parseSmtpReply } from "../smtp-client/smtp.errors.js";

const ORIGINAL_HEADERS = "From: Shop <orders@shop.example>\r\nTo: bob@example.org\r\nSubject: Your order\r\nMessage-ID: <orig-1@shop.example>\r\n";

function recipient(over: Partial<DsnRecipient> = {}): DsnRecipient {
  return {
    finalRecipient: "bob@example.org",
    originalRecipient: null,
    action: "failed",
    status: "5.1.1",
    remoteMta: "mx.example.org",
    diagnostic: "550 5.1.1 No such user",
    lastAttempt: new Date("2025-02-13T09:00:05Z"),
    willRetryUntil: null,
    ...over,
  };
}

function input(over: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: "mail.posthorn.test",
    postmaster: "postmaster@mail.posthorn.test",
    to: "orders@shop.example",
    messageId: "<dsn-1@mail.posthorn.test>",
    date: new Date("2025-02-13T10:00:00Z"),
    originalMessageId: "<orig-1@shop.example>",
    originalHeaders: Buffer.from(`${ORIGINAL_HEADERS}\r\nThe body, which is not returned.\r\n`),
    arrivalDate: new Date("2025-02-13T09:00:00Z"),
    envelopeId: null,
    recipients: [recipient()],
    ...over,
  };
}

async function parse(raw: Buffer): Promise<ParsedMail> {
  // keepDeliveryStatus: otherwise mailparser folds the delivery-status part into mail.text.
  return simpleParser(raw, { keepDeliveryStatus: true });
}

function part(mail: ParsedMail, contentType: string): string {
  const found = mail.attachments.find((a) => a.contentType === contentType);
  assert.ok(found, `no ${contentType} part`);
  return found.content.toString("utf8");
}

/** The delivery-status part as its groups of lines: per-message fields, then one per recipient. */
function statusGroups(mail: ParsedMail): string[][] {
  const body = part(mail, "message/delivery-status");
  assert.ok(body.endsWith("\r\n"), "the last field ends with CRLF");
  return body
    .slice(0, -2)
    .split("\r\n\r\n")
    .map((group) => group.split("\r\n"));
}

function headerLines(raw: Buffer): string[] {
  const text = raw.toString("utf8");
  return text.slice(0, text.indexOf("\r\n\r\n")).split("\r\n");
}

describe("buildDsn", () => {
  it("builds a multipart/report of an explanation, the delivery status and the original headers", async () => {
    const raw = buildDsn(
      input({
        recipients: [
          recipient(),
          recipient({
            finalRecipient: "carol@example.net",
            action: "delayed",
            status: "4.7.1",
            remoteMta: "mx.example.net",
            diagnostic: "451 4.7.1 Try again later",
            willRetryUntil: new Date("2025-02-18T09:00:00Z"),
          }),
        ],
      }),
    );
    const mail = await parse(raw);

    const contentType = mail.headers.get("content-type") as { value: string; params: Record<string, string> };
    assert.equal(contentType.value, "multipart/report");
    assert.equal(contentType.params["report-type"], "delivery-status");
    assert.equal(mail.from?.text, '"Mail Delivery System" <postmaster@mail.posthorn.test>');
    assert.deepEqual(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((a) => a.address) : null, ["orders@shop.example"]);
    assert.equal(mail.subject, DSN_SUBJECT_FAILED);
    assert.equal(mail.date?.toISOString(), "2025-02-13T10:00:00.000Z");
    assert.equal(mail.messageId, "<dsn-1@mail.posthorn.test>");
    assert.equal(mail.inReplyTo, "<orig-1@shop.example>");
    assert.equal(mail.references, "<orig-1@shop.example>");
    assert.equal(mail.headers.get("auto-submitted"), "auto-replied");
    assert.equal(mail.headers.get("mime-version"), "1.0");
    assert.ok(headerLines(raw).includes("Date: Thu, 13 Feb 2025 10:00:00 +0000"));

    // Part 1: says who failed, who is delayed, why, and until when we keep trying.
    const text = mail.text ?? "";
    assert.match(text, /could not be delivered[^]*bob@example\.org\s+mx\.example\.org said: 550 5\.1\.1 No such user/);
    assert.match(text, /delayed:[^]*carol@example\.net\s+mx\.example\.net said: 451 4\.7\.1 Try again later/);
    assert.match(text, /keep trying until Tue, 18 Feb 2025 09:00:00 \+0000/);
    assert.match(text, /<orig-1@shop\.example>/);

    // The three parts, in the order RFC 6522 §3 fixes.
    assert.deepEqual(
      mail.attachments.map((a) => a.contentType),
      ["message/delivery-status", "text/rfc822-headers"],
    );
    const body = raw.toString("utf8");
    assert.ok(body.indexOf("Content-Type: text/plain") < body.indexOf("Content-Type: message/delivery-status"));
    assert.ok(body.indexOf("Content-Type: message/delivery-status") < body.indexOf("Content-Type: text/rfc822-headers"));

    // Part 3: the header block only, not the body.
    assert.equal(part(mail, "text/rfc822-headers"), ORIGINAL_HEADERS);
    assert.equal(statusGroups(mail).length, 3, "per-message fields and two recipient blocks");
  });

  const fieldCases: Array<{ name: string; over: Partial<DsnInput>; lines: string[][] }> = [
    {
      name: "a failed recipient with ORCPT and ENVID",
      over: {
        envelopeId: "env-42",
        recipients: [recipient({ originalRecipient: "Bob@Example.org" })],
      },
      lines: [
        ["Original-Envelope-Id: env-42", "Reporting-MTA: dns; mail.posthorn.test", "Arrival-Date: Thu, 13 Feb 2025 09:00:00 +0000"],
        [
          "Original-Recipient: rfc822; Bob@Example.org",
          "Final-Recipient: rfc822; bob@example.org",
          "Action: failed",
          "Status: 5.1.1",
          "Remote-MTA: dns; mx.example.org",
          "Diagnostic-Code: smtp; 550 5.1.1 No such user",
          "Last-Attempt-Date: Thu, 13 Feb 2025 09:00:05 +0000",
        ],
      ],
    },
    {
      name: "a delayed recipient with its retry deadline",
      over: {
        recipients: [
          recipient({
            originalRecipient: "rfc822;carol@example.net",
            finalRecipient: "carol@example.net",
            action: "delayed",
            status: "4.7.1",
            remoteMta: "mx.example.net",
            diagnostic: "451 4.7.1 Try again later",
            lastAttempt: new Date("2025-02-13T09:30:00Z"),
            willRetryUntil: new Date("2025-02-18T09:00:00Z"),
          }),
        ],
      },
      lines: [
        ["Reporting-MTA: dns; mail.posthorn.test", "Arrival-Date: Thu, 13 Feb 2025 09:00:00 +0000"],
        [
          "Original-Recipient: rfc822; carol@example.net",
          "Final-Recipient: rfc822; carol@example.net",
          "Action: delayed",
          "Status: 4.7.1",
          "Remote-MTA: dns; mx.example.net",
          "Diagnostic-Code: smtp; 451 4.7.1 Try again later",
          "Last-Attempt-Date: Thu, 13 Feb 2025 09:30:00 +0000",
          "Will-Retry-Until: Tue, 18 Feb 2025 09:00:00 +0000",
        ],
      ],
    },
    {
      name: "a recipient that expired without any reply",
      over: {
        recipients: [
          recipient({ status: "4.4.7", remoteMta: null, diagnostic: null, lastAttempt: null, willRetryUntil: new Date("2025-02-18T09:00:00Z") }),
        ],
      },
      // Will-Retry-Until belongs to "delayed" only (RFC 3464 §2.3.9).
      lines: [
        ["Reporting-MTA: dns; mail.posthorn.test", "Arrival-Date: Thu, 13 Feb 2025 09:00:00 +0000"],
        ["Final-Recipient: rfc822; bob@example.org", "Action: failed", "Status: 4.4.7"],
      ],
    },
    {
      name: "a non-ASCII address as RFC 6533 utf-8 type, keeping the part US-ASCII",
      over: { recipients: [recipient({ finalRecipient: "jürgen+x@bücher.example" })] },
      lines: [
        ["Reporting-MTA: dns; mail.posthorn.test", "Arrival-Date: Thu, 13 Feb 2025 09:00:00 +0000"],
        [
          "Final-Recipient: utf-8; j\\x{FC}rgen\\x{2B}x@b\\x{FC}cher.example",
          "Action: failed",
          "Status: 5.1.1",
          "Remote-MTA: dns; mx.example.org",
          "Diagnostic-Code: smtp; 550 5.1.1 No such user",
          "Last-Attempt-Date: Thu, 13 Feb 2025 09:00:05 +0000",
        ],
      ],
    },
  ];
  for (const c of fieldCases) {
    it(`writes the RFC 3464 fields for ${c.name}`, async () => {
      const mail = await parse(buildDsn(input(c.over)));
      assert.deepEqual(statusGroups(mail), c.lines);
    });
  }

  const subjectCases: Array<{ actions: DsnRecipient["action"][]; subject: string }> = [
    { actions: ["failed"], subject: DSN_SUBJECT_FAILED },
    { actions: ["delayed"], subject: DSN_SUBJECT_DELAYED },
    { actions: ["delayed", "failed"], subject: DSN_SUBJECT_FAILED },
    { actions: ["delivered"], subject: DSN_SUBJECT_DELIVERED },
  ];
  for (const c of subjectCases) {
    it(`names a report of ${c.actions.join(" + ")} "${c.subject}"`, async () => {
      const recipients = c.actions.map((action, i) =>
        recipient({ finalRecipient: `r${i}@example.org`, action, status: action === "failed" ? "5.1.1" : action === "delayed" ? "4.0.0" : "2.0.0" }),
      );
      const mail = await parse(buildDsn(input({ recipients })));
      assert.equal(mail.subject, c.subject);
    });
  }

  it("leaves In-Reply-To and References out when the original had no Message-ID", () => {
    const names = headerLines(buildDsn(input({ originalMessageId: null }))).map((l) => l.split(":")[0]);
    assert.ok(!names.includes("In-Reply-To") && !names.includes("References"));
  });

  it("neutralises CR/LF in every input so no header, field or part can be added", async () => {
    const raw = buildDsn(
      input({
        to: "orders@shop.example>\r\nBcc: victim@evil.example",
        reportingMta: "mail.posthorn.test\r\nX-Injected: 1",
        originalMessageId: "<orig-1@shop.example>\r\nBcc: victim@evil.example",
        envelopeId: "env\r\n\r\nAction: delivered",
        recipients: [
          recipient({
            finalRecipient: "bob@example.org\r\nAction: delivered",
            originalRecipient: "rfc822;bob@example.org\nStatus: 2.0.0",
            remoteMta: "mx.example.org\rX-Injected: 1",
            diagnostic: "550 5.1.1 gone\r\n\r\nFinal-Recipient: rfc822; extra@example.org\r\n--=_posthorn_dsn_\r\n\u2028Action: delivered",
          }),
        ],
      }),
    );
    const mail = await parse(raw);

    assert.equal(mail.headers.get("bcc"), undefined);
    assert.equal(mail.headers.get("x-injected"), undefined);
    assert.equal(mail.inReplyTo, undefined, "a Message-ID that is not a plain msg-id is not echoed");
    assert.deepEqual(
      headerLines(raw).filter((l) => !l.startsWith(" ")).map((l) => l.split(":")[0]),
      ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type"],
    );
    assert.deepEqual(mail.attachments.map((a) => a.contentType), ["message/delivery-status", "text/rfc822-headers"]);

    const groups = statusGroups(mail);
    assert.equal(groups.length, 2, "one per-message group and one recipient block");
    const fieldNames = groups.map((g) => g.filter((l) => !l.startsWith(" ")).map((l) => l.split(":")[0]));
    assert.deepEqual(fieldNames, [
      ["Original-Envelope-Id", "Reporting-MTA", "Arrival-Date"],
      ["Original-Recipient", "Final-Recipient", "Action", "Status", "Remote-MTA", "Diagnostic-Code", "Last-Attempt-Date"],
    ]);
    assert.ok(groups[1]?.includes("Action: failed"));
    assert.ok(groups[1]?.includes("Status: 5.1.1"));
  });

  it("uses CRLF for every line, even when the original headers came with bare LF", () => {
    const raw = buildDsn(
      input({
        originalHeaders: Buffer.from("From: a@shop.example\nSubject: lf only\rTo: b@example.org\n\nbody\n"),
        recipients: [recipient({ diagnostic: "550-5.1.1 first line\n550 5.1.1 second line" })],
      }),
    ).toString("latin1");
    assert.ok(raw.endsWith("\r\n"));
    assert.equal(/\r(?!\n)|(?<!\r)\n/.test(raw), false, "no bare CR or LF");
    assert.match(raw, /\r\nFrom: a@shop\.example\r\nSubject: lf only\r\nTo: b@example\.org\r\n\r\n--/);
    assert.match(raw, /Diagnostic-Code: smtp; 550-5\.1\.1 first line 550 5\.1\.1 second line\r\n/);
  });

  it("folds a long diagnostic so that no line exceeds 998 octets, and unfolds to the reply", async () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
    const longWord = "x".repeat(1500);
    const diagnostic = `550 5.7.1 ${words} ${longWord} tail`;
    const raw = buildDsn(input({ recipients: [recipient({ status: "5.7.1", diagnostic })] }));

    for (const line of raw.toString("latin1").split("\r\n")) {
      assert.ok(Buffer.byteLength(line, "latin1") <= 998, `line of ${line.length} octets`);
    }
    const group = statusGroups(await parse(raw))[1] ?? [];
    const start = group.findIndex((l) => l.startsWith("Diagnostic-Code:"));
    const end = group.findIndex((l, i) => i > start && !l.startsWith(" "));
    const folded = group.slice(start, end);
    assert.ok(folded.length > 3, "folded onto several lines");
    // Lines stay within 78 octets except where a single word is longer (RFC 5322 §2.1.1).
    for (const line of folded) assert.ok(line.length <= 78 || !line.trim().includes(" "), line);
    const unfolded = folded.join("");
    assert.ok(unfolded.startsWith(`Diagnostic-Code: smtp; 550 5.7.1 ${words} xxx`));
    // The over-long word had to be cut; everything else reads as it came.
    assert.equal(unfolded.replace(/x /g, "x").match(/x+/)?.[0].length, 1500);
    assert.ok(unfolded.endsWith(" tail"));
  });

  it("cuts a diagnostic past 2,048 characters", async () => {
    const mail = await parse(buildDsn(input({ recipients: [recipient({ diagnostic: `550 ${"y ".repeat(3000)}` })] })));
    const line = (statusGroups(mail)[1] ?? []).join("").replace(/^.*Diagnostic-Code: smtp; /, "").replace(/Last-Attempt-Date.*$/, "");
    assert.equal(line.length, 2048);
    assert.ok(line.endsWith("..."));
  });

  it("explains a non-ASCII recipient in UTF-8 text", async () => {
    const mail = await parse(buildDsn(input({ recipients: [recipient({ finalRecipient: "jürgen@bücher.example" })] })));
    assert.match(mail.text ?? "", /jürgen@bücher\.example/);
  });

  it("refuses inputs only a bug can produce", () => {
    assert.throws(() => buildDsn(input({ recipients: [] })), RangeError);
    assert.throws(() => buildDsn(input({ to: "" })), RangeError);
    assert.throws(() => buildDsn(input({ to: "<>" })), RangeError);
    assert.throws(() => buildDsn(input({ messageId: "dsn-1@mail.posthorn.test" })), RangeError);
    assert.throws(() => buildDsn(input({ recipients: [recipient({ status: "5.1.1\r\nX: y" })] })), RangeError);
    assert.throws(() => buildDsn(input({ date: new Date(Number.NaN) })), RangeError);
  });
});

describe("buildDsn: sender and diagnostic types", () => {
  it("writes the postmaster's display name once, even when given a display form", async () => {
    for (const postmaster of ["postmaster@mail.posthorn.test", "Mail Delivery System <postmaster@mail.posthorn.test>"]) {
      const raw = buildDsn(input({ postmaster }));
      assert.ok(headerLines(raw).includes("From: Mail Delivery System <postmaster@mail.posthorn.test>"), postmaster);
    }
  });

  it("writes a reason of our own, or a report's, under its own diagnostic type rather than smtp", async () => {
    const mail = await parse(
      buildDsn(
        input({
          recipients: [
            recipient({ status: "5.1.2", remoteMta: null, diagnostic: "domain nowhere.test does not exist", diagnosticType: "X-Posthorn" }),
            recipient({ finalRecipient: "c@example.org", diagnostic: "host not found", diagnosticType: "X-Postfix" }),
            recipient({ finalRecipient: "d@example.org", diagnosticType: "bad type; x" }),
          ],
        }),
      ),
    );
    const status = part(mail, "message/delivery-status");
    assert.match(status, /^Diagnostic-Code: X-Posthorn; domain nowhere\.test does not exist\r$/m);
    assert.match(status, /^Diagnostic-Code: X-Postfix; host not found\r$/m);
    assert.match(status, /^Diagnostic-Code: X-Posthorn; 550 5\.1\.1 No such user\r$/m, "a type that is not an atom is not written");
    assert.doesNotMatch(mail.text ?? "", /said: domain/);
  });
});

describe("dsnStatus", () => {
  const cases: Array<{ reply: string | null; action: DsnRecipient["action"]; status: string }> = [
    { reply: "550 5.1.1 The email account that you tried to reach does not exist", action: "failed", status: "5.1.1" },
    { reply: "554 no", action: "failed", status: "5.0.0" },
    { reply: "451 4.7.1 Greylisted, try again later", action: "delayed", status: "4.7.1" },
    { reply: "421 Service not available", action: "delayed", status: "4.0.0" },
    { reply: "250 2.6.0 <id@host> Queued", action: "delivered", status: "2.6.0" },
    // The reply code decided the outcome; an enhanced code of another class is made to agree.
    { reply: "550 4.7.1 Blocked", action: "failed", status: "5.7.1" },
    // A 4xx that became a failure when the retries ran out keeps its own status.
    { reply: "452 4.2.2 Mailbox full", action: "failed", status: "4.2.2" },
    { reply: "garbage", action: "delayed", status: "4.0.0" },
    { reply: null, action: "failed", status: "5.0.0" },
    { reply: null, action: "delayed", status: "4.0.0" },
  ];
  for (const c of cases) {
    it(`derives ${c.status} from ${JSON.stringify(c.reply)} (${c.action})`, () => {
      assert.equal(dsnStatus(c.reply === null ? null : parseSmtpReply(c.reply), c.action), c.status);
    });
  }
});
