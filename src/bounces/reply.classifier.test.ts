import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BounceType } from "./bounce-types.js";
import { classifyReply } from "./reply.classifier.js";
import { parseSmtpReply } from "../mta/smtp-client/smtp.session.js";

type Expected = "delivered" | ["deferred", BounceType] | ["bounced", BounceType];

// Replies as real servers send them (multi-line ones joined by "\n", as nodemailer hands them
// over), with the outcome we want. Add a line here with every rule added to bounce-rules.ts.
const CASES: Array<[string, string, Expected]> = [
  ["Gmail accepted", "250 2.0.0 OK  1700000000 d9443c01a7336-1e2b3c4d5esi123456pld.123 - gsmtp", "delivered"],
  ["Outlook accepted", "250 2.6.0 <abc@out.posthorn.test> [InternalId=123456789, Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com] Queued mail for delivery", "delivered"],
  ["Gmail unknown user",
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 double-checking the recipient's email address for typos or\n550-5.1.1 unnecessary spaces. For more information, go to\n550 5.1.1  https://support.google.com/mail/?p=NoSuchUser d9443c01a7336-1e2b - gsmtp",
    ["bounced", "HardBounce"]],
  ["Outlook mailbox unavailable", "550 5.5.0 Requested action not taken: mailbox unavailable", ["bounced", "HardBounce"]],
  ["Outlook recipient not found", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", ["bounced", "HardBounce"]],
  ["Outlook directory-based edge block", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DB5EUR01FT012.eop-EUR01.prod.protection.outlook.com]", ["bounced", "HardBounce"]],
  ["Yahoo no such account", "554 delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - mta1234.mail.ne1.yahoo.com", ["bounced", "HardBounce"]],
  ["Yahoo disabled mailbox", "554 delivery error: dd Sorry your message to someone@yahoo.com cannot be delivered. This mailbox is disabled (554.30). - mta4321.mail.bf1.yahoo.com", ["bounced", "HardBounce"]],
  ["Postfix unknown user", "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table", ["bounced", "HardBounce"]],
  ["Gmail disabled account", "550-5.2.1 The email account that you tried to reach is disabled.\n550 5.2.1 https://support.google.com/mail/?p=DisabledUser - gsmtp", ["bounced", "HardBounce"]],
  ["plain 550 no enhanced code", "550 Requested action not taken: mailbox unavailable", ["bounced", "HardBounce"]],
  ["Gmail over quota, permanent", "552-5.2.2 The email account that you tried to reach is over quota. Please direct\n552 5.2.2 the recipient to https://support.google.com/mail/?p=OverQuotaPerm - gsmtp", ["bounced", "SoftBounce"]],
  ["mailbox full, transient", "452 4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp", ["deferred", "SoftBounce"]],
  ["Exchange mailbox full without enhanced code", "552 Mailbox full", ["bounced", "SoftBounce"]],
  ["Gmail try again later", "421 4.7.0 Try again later, closing connection. (EHLO) d9443c01a7336 - gsmtp", ["deferred", "Transient"]],
  ["Yahoo deferral", "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", ["deferred", "Transient"]],
  ["Outlook rate limit", "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)", ["deferred", "Transient"]],
  ["postgrey greylisting", "450 4.2.0 <x@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html", ["deferred", "Transient"]],
  ["greylisting 451 4.7.1", "451 4.7.1 Please try again later", ["deferred", "Transient"]],
  ["greylisting with a 5xx code", "550 5.7.1 Greylisted, please come back in 300 seconds", ["deferred", "Transient"]],
  ["5.7.1 that says temporarily", "554 5.7.1 This message has been temporarily rejected, please retry", ["deferred", "Transient"]],
  ["5xx too many connections", "550 5.7.1 Too many connections from your IP", ["deferred", "Transient"]],
  ["STARTTLS required", "530 5.7.0 Must issue a STARTTLS command first", ["deferred", "Transient"]],
  ["service closing", "421 4.3.2 Service not available, closing transmission channel", ["deferred", "Transient"]],
  ["Gmail unsolicited", "550-5.7.1 [192.0.2.1] Our system has detected that this message is likely\n550-5.7.1 unsolicited mail. To reduce the amount of spam sent to Gmail, this\n550 5.7.1 message has been blocked. https://support.google.com/mail/?p=UnsolicitedMessageError - gsmtp", ["bounced", "SpamNotification"]],
  ["content filter spam", "550 5.7.1 Message rejected as spam by Content Filtering.", ["bounced", "SpamNotification"]],
  ["Spamhaus listing", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1", ["bounced", "Blocked"]],
  ["Outlook block list", "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).", ["bounced", "Blocked"]],
  ["Yahoo permanent deferral", "553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes", ["bounced", "Blocked"]],
  ["Yahoo policy", "554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes", ["bounced", "Blocked"]],
  ["relay denied", "554 5.7.1 <x@example.org>: Relay access denied", ["bounced", "Blocked"]],
  ["Outlook banned IP", "550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list please visit https://sender.office.com/", ["bounced", "Blocked"]],
  ["Gmail no PTR", "550-5.7.25 [192.0.2.1] The IP address sending this message does not have a\n550 5.7.25 PTR record setup - gsmtp", ["bounced", "Blocked"]],
  ["Gmail unauthenticated (DMARC)", "550-5.7.26 This mail is unauthenticated, which poses a security risk to the\n550 5.7.26 sender and Gmail users, and has been blocked. - gsmtp", ["bounced", "DMARCPolicy"]],
  ["DMARC text", "550 5.7.1 Email rejected per DMARC policy for example.com", ["bounced", "DMARCPolicy"]],
  ["virus", "554 5.7.0 Reject, id=12345-67 - INFECTED: Eicar-Test-Signature", ["bounced", "VirusNotification"]],
  ["Postfix domain not found", "550 5.1.2 <x@nosuch.example>: Recipient address rejected: Domain not found", ["bounced", "DnsError"]],
  ["host unknown", "550 Host unknown", ["bounced", "DnsError"]],
  ["bad address syntax", "553 5.1.3 The recipient address <x@@example.org> is not a valid RFC 5321 address.", ["bounced", "BadEmailAddress"]],
  ["message too large", "552 5.3.4 Message size exceeds fixed maximum message size", ["bounced", "SoftBounce"]],
  ["bad sequence", "503 5.5.1 Error: nested MAIL command", ["deferred", "Transient"]],
  ["unrecognised 5xx", "554 5.6.0 Message contains invalid header", ["bounced", "SoftBounce"]],
  ["unrecognised 4xx", "450 4.1.8 <s@sender.test>: Sender address rejected: Domain not found", ["deferred", "Transient"]],
  ["too many recipients", "452 4.5.3 Too many recipients", ["deferred", "Transient"]],
];

function outcomeOf(text: string): Expected {
  const result = classifyReply(parseSmtpReply(text));
  return result.kind === "delivered" ? "delivered" : [result.kind, result.bounceType];
}

describe("reply classifier", () => {
  for (const [name, text, expected] of CASES) {
    it(`classifies ${name}`, () => {
      assert.deepEqual(outcomeOf(text), expected, text);
    });
  }

  it("has at least 25 real-world replies in its table", () => {
    assert.ok(CASES.length >= 25);
  });

  it("names the rule that decided, for logs", () => {
    const result = classifyReply(parseSmtpReply("550 5.1.1 User unknown"));
    assert.deepEqual(result, { kind: "bounced", bounceType: "HardBounce", rule: "unknown-user" });
  });

  it("defers a reply that is not a final reply code", () => {
    assert.equal(classifyReply({ code: 354, enhanced: null, text: "354 go ahead" }).kind, "deferred");
    assert.equal(classifyReply({ code: 0, enhanced: null, text: "garbage" }).kind, "deferred");
  });

  it("takes custom rules in place of the defaults", () => {
    const rules = [{ name: "all-5xx-soft", code: /^5/, verdict: "deferred", bounceType: "Transient" } as const];
    assert.equal(classifyReply(parseSmtpReply("550 5.1.1 User unknown"), rules).kind, "deferred");
  });
});
