import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { classifyRecipient, isAutoReply, parseBounceReport, type BounceReport, type DsnReport } from "./bounce-report.parser.js";
import { EXCHANGE_LEGACY_NDR, EXIM_NO_SUCH_USER, FIXTURE_MESSAGE_ID, FIXTURE_RETURN_PATH, GLOBAL_DSN_UTF8, GMAIL_DELAYED, GMAIL_NO_SUCH_USER, O365_RECIPIENT_NOT_FOUND, POSTFIX_MAILBOX_FULL, POSTFIX_USER_UNKNOWN, QMAIL_NO_HOST, SENDMAIL_FAILED_AND_DELAYED, buildDsn, crlf } from "./testing/bounce-fixtures.js";
import { AOL_ARF_WITHOUT_ENVELOPE, ORDINARY_REPLY, OUT_OF_OFFICE_REPLY, VACATION_AUTOREPLY, YAHOO_ARF_ABUSE } from "./testing/complaint-fixtures.js";

async function parse(message: string | Buffer): Promise<BounceReport | null> {
  return parseBounceReport(typeof message === "string" ? Buffer.from(message, "utf8") : message);
}

async function parseDsn(message: string | Buffer): Promise<DsnReport> {
  const report = await parse(message);
  assert.ok(report, "expected a report");
  assert.equal(report.kind, "dsn");
  return report;
}

const MATCHES_ORIGINAL = { originalMessageId: FIXTURE_MESSAGE_ID, originalEnvelopeFrom: FIXTURE_RETURN_PATH };
const MATCHES_ORIGINAL_PAIR = { id: FIXTURE_MESSAGE_ID, from: FIXTURE_RETURN_PATH };

describe("RFC 3464 reports", () => {
  test("Postfix, user unknown: sender from X-Postfix-Sender when the copy has no Return-Path", async () => {
    assert.deepEqual(await parse(POSTFIX_USER_UNKNOWN), {
      kind: "dsn",
      recipients: [
        {
          recipient: "bob@example.net",
          originalRecipient: "bob@example.net",
          action: "failed",
          status: "5.1.1",
          diagnostic: "smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown in virtual mailbox table",
          remoteMta: "mx.example.net",
          bounceType: "HardBounce",
        },
      ],
      ...MATCHES_ORIGINAL,
      reportingMta: "mail.example.net",
      format: "rfc3464",
    });
  });

  test("Postfix over LMTP, mailbox full (5.2.2) is a SoftBounce; headers-only original", async () => {
    const report = await parseDsn(POSTFIX_MAILBOX_FULL);
    assert.equal(report.recipients.length, 1);
    assert.equal(report.recipients[0]?.recipient, "grace@example.org");
    assert.equal(report.recipients[0]?.status, "5.2.2");
    assert.equal(report.recipients[0]?.bounceType, "SoftBounce");
    assert.match(report.recipients[0]?.diagnostic ?? "", /^smtp; 552 5\.2\.2 .*mailbox for user is full\)$/);
    assert.deepEqual({ id: report.originalMessageId, from: report.originalEnvelopeFrom }, { id: FIXTURE_MESSAGE_ID, from: FIXTURE_RETURN_PATH });
  });

  test("Gmail: a Diagnostic-Code folded over six lines is unfolded; Remote-MTA loses its comment", async () => {
    const report = await parseDsn(GMAIL_NO_SUCH_USER);
    const [recipient] = report.recipients;
    assert.ok(recipient);
    assert.equal(recipient.recipient, "nosuchuser@gmail.com");
    assert.equal(recipient.status, "5.1.1");
    assert.equal(recipient.bounceType, "HardBounce");
    assert.equal(recipient.remoteMta, "gmail-smtp-in.l.google.com");
    assert.doesNotMatch(recipient.diagnostic, /[\r\n]/);
    assert.match(recipient.diagnostic, /^smtp; 550-5\.1\.1 The email account that you tried to reach does not exist\. Please try 550-5\.1\.1 double-checking/);
    assert.match(recipient.diagnostic, /NoSuchUser d2e1a72fcca58-\S+ - gsmtp$/);
    assert.equal(report.reportingMta, "googlemail.com");
    assert.deepEqual({ id: report.originalMessageId, from: report.originalEnvelopeFrom }, MATCHES_ORIGINAL_PAIR);
  });

  test("Gmail delay warning: delayed, Transient, no reply code needed", async () => {
    const report = await parseDsn(GMAIL_DELAYED);
    assert.equal(report.recipients.length, 1);
    assert.equal(report.recipients[0]?.action, "delayed");
    assert.equal(report.recipients[0]?.status, "4.4.1");
    assert.equal(report.recipients[0]?.bounceType, "Transient");
    assert.match(report.recipients[0]?.diagnostic ?? "", /did not accept our requests to connect\./);
    assert.equal(report.originalEnvelopeFrom, FIXTURE_RETURN_PATH);
  });

  test("Office 365: 5.1.10 RecipientNotFound is a HardBounce; Return-Path without brackets is read", async () => {
    const report = await parseDsn(O365_RECIPIENT_NOT_FOUND);
    assert.deepEqual(report.recipients, [
      {
        recipient: "erin@contoso.example",
        originalRecipient: null,
        action: "failed",
        status: "5.1.10",
        diagnostic: "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        remoteMta: null,
        bounceType: "HardBounce",
      },
    ]);
    assert.equal(report.reportingMta, "BN8PR12MB3456.namprd12.prod.outlook.com");
    assert.deepEqual({ id: report.originalMessageId, from: report.originalEnvelopeFrom }, MATCHES_ORIGINAL_PAIR);
  });

  test("Sendmail: two recipients in one report, one failed and one delayed", async () => {
    const report = await parseDsn(SENDMAIL_FAILED_AND_DELAYED);
    assert.deepEqual(
      report.recipients.map((r) => [r.recipient, r.originalRecipient, r.action, r.status, r.bounceType, r.remoteMta]),
      [
        ["ivan@example.org", "Ivan@Example.org", "failed", "5.1.1", "HardBounce", "mail.example.org"],
        ["judy@example.org", null, "delayed", "4.4.1", "Transient", "mail2.example.org"],
      ],
    );
    assert.equal(report.recipients[1]?.diagnostic, "SMTP; 421 4.4.1 Connection timed out");
    assert.equal(report.reportingMta, "mx.example.org");
    assert.equal(report.originalMessageId, FIXTURE_MESSAGE_ID);
  });

  test("RFC 6533 global-delivery-status: UTF-8 addresses, \\x{} escapes decoded, global-headers read", async () => {
    const report = await parseDsn(GLOBAL_DSN_UTF8);
    assert.equal(report.format, "rfc3464");
    assert.equal(report.recipients[0]?.recipient, "用户@example.jp");
    assert.equal(report.recipients[0]?.originalRecipient, "用户@example.jp");
    assert.equal(report.recipients[0]?.bounceType, "HardBounce");
    assert.deepEqual({ id: report.originalMessageId, from: report.originalEnvelopeFrom }, MATCHES_ORIGINAL_PAIR);
  });

  test("buildDsn makes reports for any recipient, sender and Message-ID", async () => {
    const failed = await parseDsn(buildDsn({ recipient: "x@example.com", returnPath: "bounce+1.ab@b.test", messageId: "m1@posthorn.test" }));
    assert.deepEqual(
      [failed.recipients[0]?.recipient, failed.recipients[0]?.bounceType, failed.originalMessageId, failed.originalEnvelopeFrom],
      ["x@example.com", "HardBounce", "m1@posthorn.test", "bounce+1.ab@b.test"],
    );
    const delayed = await parseDsn(
      buildDsn({ recipient: "y@example.com", returnPath: "r@b.test", messageId: "m2@p.test", action: "delayed", diagnostic: "smtp; 451 4.7.1 Try again later", originalPart: "text/rfc822-headers" }),
    );
    assert.deepEqual([delayed.recipients[0]?.action, delayed.recipients[0]?.bounceType, delayed.originalMessageId], ["delayed", "Transient", "m2@p.test"]);
    const delivered = await parseDsn(buildDsn({ recipient: "z@example.com", returnPath: "r@b.test", messageId: "m3@p.test", action: "delivered", diagnostic: "smtp; 250 2.0.0 Ok" }));
    assert.deepEqual([delivered.recipients[0]?.action, delivered.recipients[0]?.bounceType], ["delivered", "Unknown"]);
  });
});

/** A delivery-status part with the given fields, as its own little report. */
function reportWith(deliveryStatus: string, extra = ""): string {
  return crlf(`From: MAILER-DAEMON@mx.example.org
To: ${FIXTURE_RETURN_PATH}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

${extra}
--b
Content-Type: message/delivery-status

${deliveryStatus}
--b--
`);
}

describe("field syntax in delivery-status parts", () => {
  test("folds with tabs, whitespace-only separator lines, no per-message block, action from status", async () => {
    const report = await parseDsn(
      reportWith(
        "Final-Recipient: rfc822;\t<a@example.org>\nStatus: 5.1.1 (bad mailbox)\nDiagnostic-Code: smtp; 550 5.1.1\n\tNo such\n   user\n   \nFinal-Recipient: rfc822; b@example.org\nStatus: 4.2.2\nDiagnostic-Code: smtp; 452 4.2.2 Mailbox full\nthis line is junk\n",
      ),
    );
    assert.equal(report.reportingMta, null);
    assert.deepEqual(
      report.recipients.map((r) => [r.recipient, r.action, r.status, r.diagnostic, r.bounceType]),
      [
        ["a@example.org", "failed", "5.1.1", "smtp; 550 5.1.1 No such user", "HardBounce"],
        ["b@example.org", "delayed", "4.2.2", "smtp; 452 4.2.2 Mailbox full", "Transient"],
      ],
    );
  });

  test("a delivery-status part without recipient blocks falls back to the text", async () => {
    const report = await parseDsn(reportWith("Reporting-MTA: dns; mx.example.org\n", "<lost@example.org>: host mx.example.org[192.0.2.5] said: 550 5.1.1 User unknown\n"));
    assert.equal(report.format, "heuristic");
    assert.equal(report.reportingMta, "mx.example.org");
    assert.deepEqual(report.recipients.map((r) => [r.recipient, r.status, r.remoteMta, r.bounceType]), [["lost@example.org", "5.1.1", "mx.example.org", "HardBounce"]]);
  });

  test("a report that names nobody at all is still a report, with no recipients", async () => {
    const report = await parseDsn(reportWith("Reporting-MTA: dns; mx.example.org\n", "Something failed.\n"));
    assert.deepEqual([report.format, report.recipients, report.reportingMta], ["rfc3464", [], "mx.example.org"]);
  });
});

describe("non-standard bounces", () => {
  test("qmail: recipient in <>, (#5.1.2) as status, the inline copy gives Message-ID and Return-Path", async () => {
    assert.deepEqual(await parse(QMAIL_NO_HOST), {
      kind: "dsn",
      recipients: [
        {
          recipient: "carol@nowhere.example",
          originalRecipient: null,
          action: "failed",
          status: "5.1.2",
          diagnostic: "Sorry, I couldn't find any host named nowhere.example. (#5.1.2)",
          remoteMta: null,
          bounceType: "DnsError",
        },
      ],
      ...MATCHES_ORIGINAL,
      reportingMta: "mail.example.org",
      format: "heuristic",
    });
  });

  test("Exim: 'The following address(es) failed', a reply code without enhanced status", async () => {
    const report = await parseDsn(EXIM_NO_SUCH_USER);
    assert.equal(report.format, "heuristic");
    assert.deepEqual(
      report.recipients.map((r) => [r.recipient, r.action, r.status, r.remoteMta, r.bounceType]),
      [["dave@example.com", "failed", null, "mx2.example.com", "HardBounce"]],
    );
    assert.match(report.recipients[0]?.diagnostic ?? "", /RCPT TO:<dave@example\.com>: 550 No Such User Here$/);
    assert.deepEqual({ id: report.originalMessageId, from: report.originalEnvelopeFrom }, MATCHES_ORIGINAL_PAIR);
  });

  test("Exchange 2010 NDR text without a delivery-status part", async () => {
    const report = await parseDsn(EXCHANGE_LEGACY_NDR);
    assert.equal(report.format, "heuristic");
    assert.deepEqual(
      report.recipients.map((r) => [r.recipient, r.status, r.diagnostic, r.bounceType]),
      [["frank@fabrikam.example", "5.1.1", "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##", "HardBounce"]],
    );
    assert.equal(report.reportingMta, "EXCH01.fabrikam.example");
    assert.deepEqual({ id: report.originalMessageId, from: report.originalEnvelopeFrom }, MATCHES_ORIGINAL_PAIR);
  });

  test("several recipients in one text bounce each get their own explanation", async () => {
    const message = crlf(`From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: ${FIXTURE_RETURN_PATH}
Subject: Mail delivery failed: returning message to sender

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  one@example.com
    SMTP error from remote mail server after RCPT TO:<one@example.com>:
    550 5.1.1 User unknown

  two@example.com
    SMTP error from remote mail server after end of data:
    552 5.2.2 Mailbox full

------ This is a copy of the message, including all the headers. ------

Return-path: <${FIXTURE_RETURN_PATH}>
From: Acme Billing <billing@posthorn.test>
To: one@example.com, two@example.com
Message-ID: <${FIXTURE_MESSAGE_ID}>
`);
    const report = await parseDsn(message);
    assert.deepEqual(
      report.recipients.map((r) => [r.recipient, r.status, r.bounceType]),
      [
        ["one@example.com", "5.1.1", "HardBounce"],
        ["two@example.com", "5.2.2", "SoftBounce"],
      ],
    );
    assert.deepEqual({ id: report.originalMessageId, from: report.originalEnvelopeFrom }, MATCHES_ORIGINAL_PAIR);
  });

  test("a text delay warning is delayed and Transient", async () => {
    const message = crlf(`From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>
To: ${FIXTURE_RETURN_PATH}
Subject: Warning: could not send message for past 4 hours

    **********************************************
    **      THIS IS A WARNING MESSAGE ONLY      **
    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **
    **********************************************

The original message was received at Mon, 8 Jul 2024 10:13:52 GMT

   ----- Transcript of session follows -----
<late@example.org>... Deferred: 421 4.4.2 Connection timed out
Warning: message still undelivered after 4 hours
Will keep trying until message is 5 days old
`);
    const report = await parseDsn(message);
    assert.deepEqual(report.recipients.map((r) => [r.recipient, r.action, r.status, r.bounceType]), [["late@example.org", "delayed", "4.4.2", "Transient"]]);
  });

  test("a text delay notice that mentions failing permanently is still a delay", async () => {
    const message = crlf(`From: MAILER-DAEMON@mx.example.org
Subject: Delayed Mail (still being retried)

<slow@example.org>: connect to mx.example.org[192.0.2.8]:25: Connection timed out
The message will be retried; you will be notified if the delivery fails permanently.
`);
    const report = await parseDsn(message);
    assert.deepEqual(report.recipients.map((r) => [r.recipient, r.action, r.bounceType]), [["slow@example.org", "delayed", "Transient"]]);
  });

  test("a looks-like-a-bounce notice with nobody named is a report without recipients", async () => {
    const report = await parseDsn(crlf(`From: MAILER-DAEMON@mx.example.org\nSubject: failure notice\nIn-Reply-To: <${FIXTURE_MESSAGE_ID}>\n\nYour message could not be delivered.\n`));
    assert.deepEqual([report.recipients, report.originalMessageId, report.format], [[], FIXTURE_MESSAGE_ID, "heuristic"]);
  });

  test("mail from postmaster that does not read like a bounce is not one", async () => {
    assert.equal(await parse(crlf("From: postmaster@example.org\nTo: billing@posthorn.test\nSubject: Hello\n\nPlease whitelist our new IP, contact admin@example.org.\n")), null);
  });
});

describe("not reports", () => {
  test("an ordinary reply, an out-of-office and a vacation reply are null", async () => {
    assert.equal(await parse(ORDINARY_REPLY), null);
    assert.equal(await parse(OUT_OF_OFFICE_REPLY), null);
    assert.equal(await parse(VACATION_AUTOREPLY), null);
  });

  test("a read receipt (disposition-notification report) is null", async () => {
    const mdn = crlf(`From: bob@example.net
Subject: Read: Your invoice #1042
Content-Type: multipart/report; report-type=disposition-notification; boundary="m"

--m
Content-Type: text/plain

Your message was read.
--m
Content-Type: message/disposition-notification

Reporting-UA: mail.example.net
Final-Recipient: rfc822; bob@example.net
Original-Message-ID: <${FIXTURE_MESSAGE_ID}>
Disposition: manual-action/MDN-sent-manually; displayed
--m--
`);
    assert.equal(await parse(mdn), null);
  });

  test("ARF reports come back as complaints", async () => {
    assert.equal((await parse(YAHOO_ARF_ABUSE))?.kind, "complaint");
    assert.equal((await parse(AOL_ARF_WITHOUT_ENVELOPE))?.kind, "complaint");
  });
});

describe("malformed input never throws", () => {
  test("empty, garbage, a report without parts, a non-Buffer", async () => {
    assert.equal(await parse(Buffer.alloc(0)), null);
    assert.equal(await parse(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0x81])), null);
    assert.equal(await parse(crlf("Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\"\n\nno parts here\n")).then((r) => r?.kind ?? null), "dsn");
    assert.equal(await parseBounceReport("not a buffer" as unknown as Buffer), null);
    const garbage = Buffer.alloc(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 256;
    assert.equal(await parse(garbage), null);
  });

  test("every fixture cut short anywhere gives null or a report", async () => {
    for (const fixture of [POSTFIX_USER_UNKNOWN, GMAIL_NO_SUCH_USER, O365_RECIPIENT_NOT_FOUND, SENDMAIL_FAILED_AND_DELAYED, QMAIL_NO_HOST, YAHOO_ARF_ABUSE]) {
      const bytes = Buffer.from(fixture);
      for (let end = 0; end < bytes.length; end += 53) {
        const report = await parseBounceReport(bytes.subarray(0, end));
        assert.ok(report === null || report.kind === "dsn" || report.kind === "complaint");
      }
    }
  });

  // The address scan was once quadratic on one long line of local-part characters (20 s for 200 kB).
  test("long lines and many addresses stay fast", { timeout: 5000 }, async () => {
    const notice = (body: string) => crlf(`From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n${body}`);
    for (const body of ["a".repeat(200_000), "-".repeat(200_000), "5.5.".repeat(50_000), "a@" + "b".repeat(200_000)]) {
      assert.deepEqual((await parseDsn(notice(body))).recipients, []);
    }
    const many = Array.from({ length: 5000 }, (_, i) => `u${i}@d${i}.example: 550 5.1.1 unknown`).join("\n\n");
    assert.equal((await parseDsn(notice(many))).recipients.length, 100);
  });

  test("a truncated delivery-status part keeps the recipients it has", async () => {
    const cut = SENDMAIL_FAILED_AND_DELAYED.slice(0, SENDMAIL_FAILED_AND_DELAYED.indexOf("Action: delayed"));
    const report = await parseDsn(cut);
    assert.deepEqual(report.recipients.map((r) => r.recipient), ["ivan@example.org", "judy@example.org"]);
    assert.equal(report.recipients[1]?.action, "failed");
  });
});

describe("classification", () => {
  const cases: Array<[action: string, status: string | null, diagnostic: string, expected: string]> = [
    ["failed", "5.1.1", "smtp; 550 5.1.1 <a@b>: User unknown", "HardBounce"],
    ["failed", "5.1.2", "smtp; 550 5.1.2 Host unknown", "DnsError"],
    ["failed", "5.4.4", "X-Postfix; Host or domain name not found. Name service error for name=nowhere.example type=MX: Host not found, try again", "DnsError"],
    ["failed", null, "smtp; 550 5.4.310 DNS domain nowhere.example does not exist", "DnsError"],
    ["failed", null, "Sorry, I couldn't find any host by that name.", "DnsError"],
    ["failed", "5.2.2", "smtp; 552 5.2.2 Mailbox full", "SoftBounce"],
    ["failed", null, "The recipient's mailbox is full", "SoftBounce"],
    ["failed", "5.7.1", "smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org", "Blocked"],
    ["failed", "5.7.1", "smtp; 550 5.7.1 Relaying denied", "Blocked"],
    ["failed", null, "smtp; 554 Relay access denied", "Blocked"],
    ["failed", "5.7.1", "smtp; 550 5.7.1 Message rejected as spam by Content Filtering", "SpamNotification"],
    ["failed", "5.7.26", "smtp; 550 5.7.26 Unauthenticated email is not accepted due to the domain's DMARC policy", "DMARCPolicy"],
    ["failed", "5.7.1", "smtp; 550 5.7.1 Message rejected: virus found (Eicar-Test-Signature)", "VirusNotification"],
    ["failed", "5.1.3", "smtp; 501 5.1.3 Bad recipient address syntax", "BadEmailAddress"],
    ["failed", "5.0.0", "smtp; 550 5.0.0 Something odd happened", "HardBounce"],
    ["failed", null, "smtp; 554 Transaction failed", "HardBounce"],
    ["failed", "4.4.7", "Delivery time expired", "Transient"],
    ["delayed", "5.1.1", "smtp; 550 5.1.1 User unknown", "Transient"],
    ["delivered", "2.0.0", "smtp; 250 2.0.0 Ok", "Unknown"],
    ["relayed", null, "", "Unknown"],
    ["expanded", "2.0.0", "", "Unknown"],
    ["failed", null, "", "Unknown"],
    ["failed", null, "Something went wrong", "Unknown"],
    ["failed", "2.0.0", "smtp; 250 Ok", "Unknown"],
  ];
  for (const [action, status, diagnostic, expected] of cases) {
    test(`${action} ${status ?? "-"} "${diagnostic}" → ${expected}`, () => {
      assert.equal(classifyRecipient(action, status, diagnostic), expected);
    });
  }
});

describe("isAutoReply", () => {
  test("recognises out-of-office and vacation replies", () => {
    assert.equal(isAutoReply(Buffer.from(OUT_OF_OFFICE_REPLY)), true);
    assert.equal(isAutoReply(Buffer.from(VACATION_AUTOREPLY)), true);
    assert.equal(isAutoReply(Buffer.from(crlf("From: a@example.org\nSubject: Out of Office: Your invoice\n\nAway.\n"))), true);
    assert.equal(isAutoReply(Buffer.from(crlf("From: a@example.org\nPrecedence: auto_reply\nSubject: Re: x\n\nAway.\n"))), true);
  });

  test("ordinary mail, bounces (which say auto-replied too) and reports are not auto-replies", () => {
    assert.equal(isAutoReply(Buffer.from(ORDINARY_REPLY)), false);
    assert.equal(isAutoReply(Buffer.from(POSTFIX_USER_UNKNOWN)), false);
    assert.equal(isAutoReply(Buffer.from(EXIM_NO_SUCH_USER)), false);
    assert.equal(isAutoReply(Buffer.from(GMAIL_NO_SUCH_USER)), false);
    assert.equal(isAutoReply(Buffer.from(YAHOO_ARF_ABUSE)), false);
    assert.equal(isAutoReply(Buffer.from(crlf("From: a@example.org\nAuto-Submitted: auto-generated\nSubject: Your weekly digest\n\nHi\n"))), false);
  });

  test("malformed input is not an auto-reply", () => {
    assert.equal(isAutoReply(Buffer.alloc(0)), false);
    assert.equal(isAutoReply(Buffer.from([0xff, 0x00, 0x0a, 0x0a])), false);
    assert.equal(isAutoReply("x" as unknown as Buffer), false);
  });
});

