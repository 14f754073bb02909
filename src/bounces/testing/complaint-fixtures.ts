// Feedback-loop complaints (RFC 5965, as Yahoo and AOL send them) and messages that are not
// reports at all (auto-replies, an ordinary reply), for the parsers' tests and the MX tests.
import { FIXTURE_MESSAGE_ID, FIXTURE_RETURN_PATH, crlf, original } from "./original-message.js";

export interface BuildComplaintOptions {
  recipient: string;
  /** The original's envelope sender. */
  returnPath: string;
  /** Without angle brackets. */
  messageId: string;
  feedbackType?: string;
  userAgent?: string;
  /** Write Original-Mail-From and Original-Rcpt-To; receivers that redact addresses leave them out. */
  envelope?: boolean;
  /** RFC 5965 says Arrival-Date; drafts and older senders wrote Received-Date. */
  dateField?: "Arrival-Date" | "Received-Date";
}

/** An RFC 5965 feedback report about one message, shaped as Yahoo's feedback loop sends it. */
export function buildComplaint(o: BuildComplaintOptions): Buffer {
  const boundary = "----=_Part_44081_1286737394.1720436537000";
  const envelope = o.envelope === false ? "" : `Original-Mail-From: <${o.returnPath}>\nOriginal-Rcpt-To: <${o.recipient}>\n`;
  return Buffer.from(
    crlf(`Return-Path: <>
From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>
To: fbl@posthorn.test
Subject: FW: Your invoice #1042
Date: Mon, 08 Jul 2024 11:02:17 +0000
Message-ID: <1720436537.4182.yahoo.arf.cfl@arf.mail.yahoo.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="${boundary}"

--${boundary}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP 192.0.2.10 on Mon, 08 Jul 2024 10:13:52 +0000.
For more information about this format please see http://www.mipassoc.org/arf/.

--${boundary}
Content-Type: message/feedback-report

Feedback-Type: ${o.feedbackType ?? "abuse"}
User-Agent: ${o.userAgent ?? "Yahoo!-Mail-Feedback/2.0"}
Version: 0.1
${envelope}${o.dateField ?? "Arrival-Date"}: Mon, 08 Jul 2024 10:13:52 +0000
Source-IP: 192.0.2.10
Authentication-Results: mta1009.mail.gq1.yahoo.com  from=posthorn.test;
 domainkeys=neutral (no sig);  from=posthorn.test; dkim=pass (ok)
Reported-Domain: posthorn.test

--${boundary}
Content-Type: message/rfc822
Content-Disposition: inline

${original({ to: o.recipient, returnPath: o.returnPath, messageId: o.messageId })}
--${boundary}--
`),
  );
}

/** Yahoo's complaint feedback loop, the whole original included. */
export const YAHOO_ARF_ABUSE = buildComplaint({
  recipient: "frank@yahoo.example",
  returnPath: FIXTURE_RETURN_PATH,
  messageId: FIXTURE_MESSAGE_ID,
}).toString("utf8");

/**
 * An AOL-style report naming neither envelope address, in the older Received-Date spelling: the
 * recipient and sender must come from the original's To and Return-Path.
 */
export const AOL_ARF_WITHOUT_ENVELOPE = buildComplaint({
  recipient: "heidi@aol.example",
  returnPath: FIXTURE_RETURN_PATH,
  messageId: FIXTURE_MESSAGE_ID,
  feedbackType: "ABUSE",
  userAgent: "AOL SComp",
  envelope: false,
  dateField: "Received-Date",
}).toString("utf8");

/** Exchange out-of-office reply. */
export const OUT_OF_OFFICE_REPLY = crlf(`From: Bob Jones <bob@example.net>
To: Acme Billing <billing@posthorn.test>
Subject: Automatic reply: Your invoice #1042
Date: Mon, 8 Jul 2024 10:13:58 +0000
Message-ID: <DM6PR12MB4321A1B2C3D4E5F6@DM6PR12MB4321.namprd12.prod.outlook.com>
In-Reply-To: <${FIXTURE_MESSAGE_ID}>
References: <${FIXTURE_MESSAGE_ID}>
Auto-Submitted: auto-replied
X-MS-Exchange-Inbox-Rules-Loop: bob@example.net
X-Auto-Response-Suppress: All
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"

I am out of the office until 15 July with limited access to email.
`);

/** A vacation responder that marks itself with X-Autoreply only. */
export const VACATION_AUTOREPLY = crlf(`From: carol@example.org
To: billing@posthorn.test
Subject: =?UTF-8?Q?Abwesenheitsnotiz=3A_Your_invoice_=231042?=
Date: Mon, 8 Jul 2024 10:14:10 +0000
Message-ID: <vacation.1720433650.4411@mail.example.org>
X-Autoreply: yes
Precedence: bulk
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Ich bin bis zum 15. Juli nicht im Büro.
`);

/** A person's reply: neither a report nor an auto-reply. */
export const ORDINARY_REPLY = crlf(`From: Bob Jones <bob@example.net>
To: Acme Billing <billing@posthorn.test>
Subject: Re: Your invoice #1042
Date: Mon, 8 Jul 2024 10:20:00 +0000
Message-ID: <CAF=abc123def456@mail.example.net>
In-Reply-To: <${FIXTURE_MESSAGE_ID}>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thanks, paid. Could you send a copy to my colleague at alice@example.net?

> Hello, your invoice #1042 for $42.00 is ready.
`);
