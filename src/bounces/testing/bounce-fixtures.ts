// Bounce and complaint messages as real mail servers send them, for the inbound parsers' tests and
// for any test that needs a DSN or an ARF report to arrive. Each is modelled on a real specimen of
// its sender (Postfix, Sendmail, Exim, qmail, Gmail, Office 365, Exchange 2010) with names, hosts
// and ids replaced by documentation ones. Complaints and non-reports are in complaint-fixtures.ts.
//
// Every message answers the same original: envelope sender FIXTURE_RETURN_PATH (a VERP address, as
// our MTA writes) and Message-ID <FIXTURE_MESSAGE_ID>, so a caller can test matching a report to
// its delivery. Texts are written with "\n" and turned into CRLF once, as they arrive off the wire.

import { FIXTURE_MESSAGE_ID, FIXTURE_RETURN_PATH, crlf, original } from "./original-message.js";

export { FIXTURE_MESSAGE_ID, FIXTURE_RETURN_PATH, crlf } from "./original-message.js";

export interface BuildDsnOptions {
  recipient: string;
  /** The original's envelope sender, to whom the report goes. */
  returnPath: string;
  /** Without angle brackets. */
  messageId: string;
  action?: "failed" | "delayed" | "delivered";
  status?: string;
  /** The Diagnostic-Code value; continuation lines (starting with spaces) stay folded. */
  diagnostic?: string;
  /** The notification's paragraph about the recipient, as Postfix words it. */
  explanation?: string;
  reportingMta?: string;
  remoteMta?: string | null;
  /** The Original-Recipient value as written, e.g. "rfc822;a@b"; null leaves the field out. */
  originalRecipient?: string | null;
  /** The whole original back, or its headers only (Postfix does that for large messages). */
  originalPart?: "message/rfc822" | "text/rfc822-headers";
  /** A relay's copy has no Return-Path (final delivery adds it); the sender is in X-Postfix-Sender. */
  originalReturnPath?: boolean;
  /** RFC 6533: global-delivery-status, "utf-8" address type, message/global-headers. */
  global?: boolean;
}

/** An RFC 3464 report about one recipient of one message, shaped as Postfix writes it. */
export function buildDsn(options: BuildDsnOptions): Buffer {
  const action = options.action ?? "failed";
  const status = options.status ?? (action === "delayed" ? "4.4.1" : action === "delivered" ? "2.0.0" : "5.1.1");
  const rcpt = options.recipient;
  const diagnostic = options.diagnostic ?? `smtp; 550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown`;
  const mta = options.reportingMta ?? "mail.example.net";
  const remoteMta = options.remoteMta === undefined ? `mx.${rcpt.split("@")[1] ?? "example.net"}` : options.remoteMta;
  const headersOnly = options.originalPart === "text/rfc822-headers";
  const g = options.global === true;
  const addrType = g ? "utf-8" : "rfc822";
  const originalRecipient = options.originalRecipient === undefined ? `${addrType};${rcpt}` : options.originalRecipient;
  const boundary = `4WJk3b1ZqBz9sPq.1720433633/${mta}`;
  const orig = original({
    to: rcpt,
    returnPath: options.returnPath,
    messageId: options.messageId,
    headersOnly,
    withReturnPath: options.originalReturnPath ?? true,
  });
  const explanation =
    options.explanation ?? `<${rcpt}>: host ${remoteMta ?? mta}[198.51.100.7] said: ${diagnostic.replace(/^smtp;\s*/i, "")}`;
  const origType = g ? "message/global-headers" : headersOnly ? "text/rfc822-headers" : "message/rfc822";
  return Buffer.from(
    crlf(`Return-Path: <>
Delivered-To: ${options.returnPath}
Received: by ${mta} (Postfix)
\tid 4WJk3b1ZqBz9sPq; Mon,  8 Jul 2024 10:13:53 +0000 (UTC)
Date: Mon,  8 Jul 2024 10:13:53 +0000 (UTC)
From: MAILER-DAEMON@${mta} (Mail Delivery System)
Subject: ${action === "delayed" ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender"}
To: ${options.returnPath}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=${g ? "global-" : ""}delivery-status;
\tboundary="${boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: <20240708101353.4WJk3b1ZqBz9sPq@${mta}>

This is a MIME-encapsulated message.

--${boundary}
Content-Description: Notification
Content-Type: text/plain; charset=${g ? "utf-8" : "us-ascii"}

This is the mail system at host ${mta}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

${explanation}

--${boundary}
Content-Description: Delivery report
Content-Type: message/${g ? "global-" : ""}delivery-status

Reporting-MTA: dns; ${mta}
X-Postfix-Queue-ID: 4WJk2x0q9Zz3wLm
X-Postfix-Sender: rfc822; ${options.returnPath}
Arrival-Date: Mon,  8 Jul 2024 10:13:52 +0000 (UTC)

Final-Recipient: ${addrType}; ${rcpt}
${originalRecipient === null ? "" : `Original-Recipient: ${originalRecipient}\n`}Action: ${action}
Status: ${status}
${remoteMta === null ? "" : `Remote-MTA: dns; ${remoteMta}\n`}Diagnostic-Code: ${diagnostic}

--${boundary}
Content-Description: Undelivered Message${headersOnly || g ? " Headers" : ""}
Content-Type: ${origType}

${orig}
--${boundary}--
`),
  );
}

/** Postfix relay; the remote said 550 5.1.1 to RCPT. The returned copy has no Return-Path. */
export const POSTFIX_USER_UNKNOWN = buildDsn({
  recipient: "bob@example.net",
  returnPath: FIXTURE_RETURN_PATH,
  messageId: FIXTURE_MESSAGE_ID,
  diagnostic: `smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected:
    User unknown in virtual mailbox table`,
  explanation: `<bob@example.net>: host mx.example.net[198.51.100.7] said: 550 5.1.1
    <bob@example.net>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)`,
  originalReturnPath: false,
}).toString("utf8");

/** Postfix delivering over LMTP to Dovecot, mailbox over quota; headers-only return. */
export const POSTFIX_MAILBOX_FULL = buildDsn({
  recipient: "grace@example.org",
  returnPath: FIXTURE_RETURN_PATH,
  messageId: FIXTURE_MESSAGE_ID,
  reportingMta: "mail.example.org",
  remoteMta: "mail.example.org",
  status: "5.2.2",
  diagnostic: `smtp; 552 5.2.2 <grace@example.org> Quota exceeded (mailbox for
    user is full)`,
  explanation: `<grace@example.org>: host mail.example.org[private/dovecot-lmtp] said: 552
    5.2.2 <grace@example.org> Quota exceeded (mailbox for user is full) (in
    reply to end of DATA command)`,
  originalPart: "text/rfc822-headers",
}).toString("utf8");

/** RFC 6533 report for an internationalized address (Postfix with SMTPUTF8). */
export const GLOBAL_DSN_UTF8 = buildDsn({
  recipient: "用户@example.jp",
  returnPath: FIXTURE_RETURN_PATH,
  messageId: FIXTURE_MESSAGE_ID,
  reportingMta: "mail.example.jp",
  // RFC 6533 §3: the utf-8 address type may escape characters as \x{HEX}.
  originalRecipient: "utf-8; \\x{7528}\\x{6237}@example.jp",
  diagnostic: `smtp; 550 5.1.1 <用户@example.jp>: Recipient address rejected:
    User unknown`,
  global: true,
}).toString("utf8");

interface GmailDsnOptions {
  recipient: string;
  delayed: boolean;
  /** The text part's headline and paragraph. */
  summary: string;
  /** The per-recipient fields after Final-Recipient, as Gmail folds them. */
  fields: string;
  original: string;
  originalType: string;
}

/** Gmail's notice: a multipart/related text part with an icon, then the report and the original. */
function gmailDsn(o: GmailDsnOptions): string {
  const outer = o.delayed ? "0000000000001f2e3d061cb8c4b2" : "000000000000e5a1b2061cb7f3a1";
  return crlf(`Return-Path: <>
Received: from mail-sor-f69.google.com (mail-sor-f69.google.com [209.85.220.69])
\tby mx.bounces.posthorn.test with ESMTPS id 7f3a1b2c; Mon, 08 Jul 2024 10:13:54 +0000
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: ${FIXTURE_RETURN_PATH}
Auto-Submitted: auto-replied
Message-ID: <668bbc22.170a0220.3d7c3.4e2f.${o.delayed ? "DLY" : "GMR"}@mx.google.com>
Date: Mon, 08 Jul 2024 03:13:54 -0700 (PDT)
Subject: Delivery Status Notification (${o.delayed ? "Delay" : "Failure"})
References: <${FIXTURE_MESSAGE_ID}>
In-Reply-To: <${FIXTURE_MESSAGE_ID}>
${o.delayed ? "" : `X-Failed-Recipients: ${o.recipient}\n`}MIME-Version: 1.0
Content-Type: multipart/report; boundary="${outer}"; report-type=delivery-status

--${outer}
Content-Type: multipart/related; boundary="000000000000e5c0b8061cb7f3a9"

--000000000000e5c0b8061cb7f3a9
Content-Type: multipart/alternative; boundary="000000000000e5c0c0061cb7f3aa"

--000000000000e5c0c0061cb7f3aa
Content-Type: text/plain; charset="UTF-8"

${o.summary}

--000000000000e5c0c0061cb7f3aa
Content-Type: text/html; charset="UTF-8"

<html><head></head><body><div style="max-width:600px"><img src="cid:icon.png" width="32" height="32">
<p>${o.summary.replace(/\n+/g, "</p><p>")}</p></div></body></html>

--000000000000e5c0c0061cb7f3aa--
--000000000000e5c0b8061cb7f3a9
Content-Type: image/png; name="icon.png"
Content-Disposition: attachment; filename="icon.png"
Content-Transfer-Encoding: base64
Content-ID: <icon.png>

iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==
--000000000000e5c0b8061cb7f3a9--
--${outer}
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; mta1.posthorn.test
Arrival-Date: Mon, 08 Jul 2024 03:13:52 -0700 (PDT)
X-Original-Message-ID: <${FIXTURE_MESSAGE_ID}>

Final-Recipient: rfc822; ${o.recipient}
${o.fields}

--${outer}
Content-Type: ${o.originalType}

${o.original}
--${outer}--
`);
}

/** Gmail's failure notice, its Diagnostic-Code folded over six lines. */
export const GMAIL_NO_SUCH_USER = gmailDsn({
  recipient: "nosuchuser@gmail.com",
  delayed: false,
  summary: `** Address not found **

Your message wasn't delivered to nosuchuser@gmail.com because the address couldn't be found, or is unable to receive mail.

The response was:

The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser`,
  fields: `Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.102.27, the server for
 the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does
 not exist. Please try 550-5.1.1 double-checking the recipient's email address
 for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550
 5.1.1  https://support.google.com/mail/?p=NoSuchUser
 d2e1a72fcca58-70b0c2d1a3bsi1234567b3a.123 - gsmtp
Last-Attempt-Date: Mon, 08 Jul 2024 03:13:54 -0700 (PDT)`,
  original: original({ to: "nosuchuser@gmail.com" }),
  originalType: "message/rfc822",
});

/** Gmail's delay warning: Action delayed, a Diagnostic-Code without an SMTP reply code. */
export const GMAIL_DELAYED = gmailDsn({
  recipient: "judy@example.org",
  delayed: true,
  summary: `** Delivery incomplete **

There was a temporary problem delivering your message to judy@example.org. Gmail will retry for 46 more hours. You'll be notified if the delivery fails permanently.`,
  fields: `Action: delayed
Status: 4.4.1
Diagnostic-Code: smtp; The recipient server did not accept our requests to
 connect. Learn more at https://support.google.com/mail/answer/7720
 [mx.example.org. 203.0.113.5: timed out]
Last-Attempt-Date: Mon, 08 Jul 2024 04:13:55 -0700 (PDT)
Will-Retry-Until: Wed, 10 Jul 2024 03:13:52 -0700 (PDT)`,
  original: original({ to: "judy@example.org", headersOnly: true }),
  originalType: "text/rfc822-headers",
});

/** Office 365 NDR: text and HTML alternatives, delivery-status, original headers. */
export const O365_RECIPIENT_NOT_FOUND = crlf(`Return-Path: <>
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>
To: <${FIXTURE_RETURN_PATH}>
Date: Mon, 8 Jul 2024 10:13:55 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="86a2f3e1-5a0e-4b1c-8d2a-0e4f1d9c7b6a"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <3b9e6d2a-1c4f-4e8a-a7d2-9f0b1c2d3e4f@BN8PR12MB3456.namprd12.prod.outlook.com>
In-Reply-To: <${FIXTURE_MESSAGE_ID}>
References: <${FIXTURE_MESSAGE_ID}>
Thread-Topic: Your invoice #1042
Subject: Undeliverable: Your invoice #1042
Auto-Submitted: auto-replied
MIME-Version: 1.0

--86a2f3e1-5a0e-4b1c-8d2a-0e4f1d9c7b6a
Content-Type: multipart/alternative; differences=Content-Type;
\tboundary="d4c1e0b2-7f3a-4a6e-9b5d-1c2e3f4a5b6c"

--d4c1e0b2-7f3a-4a6e-9b5d-1c2e3f4a5b6c
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to erin@contoso.example couldn't be delivered.
erin wasn't found at contoso.example.

How to Fix It
The address may be misspelled or may not exist. Try one or more of the foll=
owing: retype the recipient's address, then resend the message.

More Info for Email Admins
Status code: 550 5.1.10
Sender Address: billing@posthorn.test
Recipient Address:      erin@contoso.example
Error:  550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by S=
MTP address lookup
Message rejected by:    BN8PR12MB3456.namprd12.prod.outlook.com

--d4c1e0b2-7f3a-4a6e-9b5d-1c2e3f4a5b6c
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><head><meta http-equiv=3D"Content-Type" content=3D"text/html; charset=
=3Dus-ascii"></head><body><p>Your message to <a href=3D"mailto:erin@contoso=
.example">erin@contoso.example</a> couldn't be delivered.</p>
<p>Error: 550 5.1.10 RESOLVER.ADR.RecipientNotFound</p></body></html>

--d4c1e0b2-7f3a-4a6e-9b5d-1c2e3f4a5b6c--

--86a2f3e1-5a0e-4b1c-8d2a-0e4f1d9c7b6a
Content-Type: message/delivery-status

Reporting-MTA: dns;BN8PR12MB3456.namprd12.prod.outlook.com
Received-From-MTA: dns;mta1.posthorn.test
Arrival-Date: Mon, 8 Jul 2024 10:13:54 +0000

Final-Recipient: rfc822;erin@contoso.example
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup
X-Display-Name: Erin

--86a2f3e1-5a0e-4b1c-8d2a-0e4f1d9c7b6a
Content-Type: text/rfc822-headers

${original({ to: "erin@contoso.example", headersOnly: true }).replace(`Return-Path: <${FIXTURE_RETURN_PATH}>`, `Return-Path: ${FIXTURE_RETURN_PATH}`)}
--86a2f3e1-5a0e-4b1c-8d2a-0e4f1d9c7b6a--
`);

/** Exchange 2010 NDR as plain text, no delivery-status part; the original headers inline. */
export const EXCHANGE_LEGACY_NDR = crlf(`Return-Path: <>
From: postmaster@fabrikam.example
To: ${FIXTURE_RETURN_PATH}
Date: Mon, 8 Jul 2024 12:13:53 +0200
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit
Message-ID: <9f3e1d2c-b4a5-4c6d-8e7f-0a1b2c3d4e5f@EXCH01.fabrikam.example>
Subject: Undeliverable: Your invoice #1042
X-MS-Exchange-Organization-SCL: -1

Delivery has failed to these recipients or groups:

frank@fabrikam.example
The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message. If the problem continues, please contact your helpdesk.

Diagnostic information for administrators:

Generating server: EXCH01.fabrikam.example

frank@fabrikam.example
#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##

Original message headers:

Received: from mta1.posthorn.test (192.0.2.10) by EXCH01.fabrikam.example
 (10.0.0.5) with Microsoft SMTP Server id 14.3.498.0; Mon, 8 Jul 2024 12:13:52 +0200
Return-Path: ${FIXTURE_RETURN_PATH}
MIME-Version: 1.0
From: Acme Billing <billing@posthorn.test>
To: <frank@fabrikam.example>
Subject: Your invoice #1042
Message-ID: <${FIXTURE_MESSAGE_ID}>
Date: Mon, 08 Jul 2024 10:13:51 +0000
Content-Type: text/plain; charset=utf-8
`);

/** qmail's non-standard bounce: no MIME, the original copied below a marker line. */
export const QMAIL_NO_HOST = crlf(`Return-Path: <>
Received: (qmail 12345 invoked for bounce); 8 Jul 2024 10:13:53 -0000
Date: 8 Jul 2024 10:13:53 -0000
From: MAILER-DAEMON@mail.example.org
To: ${FIXTURE_RETURN_PATH}
Subject: failure notice

Hi. This is the qmail-send program at mail.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<carol@nowhere.example>:
Sorry, I couldn't find any host named nowhere.example. (#5.1.2)

--- Below this line is a copy of the message.

${original({ to: "carol@nowhere.example" }).replace("Received: from", "Received: (qmail 12340 invoked from network); 8 Jul 2024 10:13:52 -0000\nReceived: from")}`);

/** Exim without DSN parts: "The following address(es) failed", a reply code without enhanced status. */
export const EXIM_NO_SUCH_USER = crlf(`Return-Path: <>
Received: from Debian-exim by mx.example.com with local (Exim 4.96)
\tid 1sQmXy-0003Ab-2Q
\tfor ${FIXTURE_RETURN_PATH}; Mon, 08 Jul 2024 10:13:54 +0000
X-Failed-Recipients: dave@example.com
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: ${FIXTURE_RETURN_PATH}
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1sQmXy-0003Ab-2Q@mx.example.com>
Date: Mon, 08 Jul 2024 10:13:54 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  dave@example.com
    host mx2.example.com [198.51.100.20]
    SMTP error from remote mail server after RCPT TO:<dave@example.com>:
    550 No Such User Here

------ This is a copy of the message, including all the headers. ------

${original({ to: "dave@example.com" })}`);

/** Sendmail report for two recipients: one failed, one still being retried. */
export const SENDMAIL_FAILED_AND_DELAYED = crlf(`Return-Path: <>
Date: Mon, 8 Jul 2024 14:13:54 GMT
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>
Message-Id: <202407081413.x6A8DrQ1012345@mx.example.org>
To: <${FIXTURE_RETURN_PATH}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="x6A8DrQ1012345.1720448034/mx.example.org"
Subject: Returned mail: see transcript for details
Auto-Submitted: auto-generated (failure)

This is a MIME-encapsulated message

--x6A8DrQ1012345.1720448034/mx.example.org

The original message was received at Mon, 8 Jul 2024 10:13:52 GMT
from mta1.posthorn.test [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<ivan@example.org>
    (reason: 550 5.1.1 <ivan@example.org>... User unknown)

   ----- Transcript of session follows -----
... while talking to mail.example.org.:
>>> RCPT To:<ivan@example.org>
<<< 550 5.1.1 <ivan@example.org>... User unknown
550 5.1.1 <ivan@example.org>... User unknown
<judy@example.org>... Deferred: Connection timed out with mail2.example.org.
Warning: message still undelivered after 4 hours
Will keep trying until message is 5 days old

--x6A8DrQ1012345.1720448034/mx.example.org
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
Received-From-MTA: DNS; mta1.posthorn.test
Arrival-Date: Mon, 8 Jul 2024 10:13:52 GMT

Final-Recipient: RFC822; ivan@example.org
Original-Recipient: rfc822; Ivan@Example.org
Action: failed
Status: 5.1.1
Remote-MTA: DNS; mail.example.org
Diagnostic-Code: SMTP; 550 5.1.1 <ivan@example.org>... User unknown
Last-Attempt-Date: Mon, 8 Jul 2024 10:13:54 GMT

Final-Recipient: RFC822; judy@example.org
Action: delayed (warning)
Status: 4.4.1
Remote-MTA: DNS; mail2.example.org
Diagnostic-Code: SMTP; 421 4.4.1 Connection timed out
Last-Attempt-Date: Mon, 8 Jul 2024 14:13:54 GMT
Will-Retry-Until: Sat, 13 Jul 2024 10:13:52 GMT

--x6A8DrQ1012345.1720448034/mx.example.org
Content-Type: text/rfc822-headers

${original({ to: "ivan@example.org", headersOnly: true }).replace(`To: <ivan@example.org>`, "To: <ivan@example.org>, <judy@example.org>")}
--x6A8DrQ1012345.1720448034/mx.example.org--
`);
