import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { bareAddress, bareMessageId, fieldValue, parseFeedbackReport, parseReportFields, readOriginalHeaders } from "./arf.parser.js";
import { parseBounceReport } from "./bounce-report.parser.js";
import { FIXTURE_MESSAGE_ID, FIXTURE_RETURN_PATH, crlf } from "./testing/bounce-fixtures.js";
import { AOL_ARF_WITHOUT_ENVELOPE, YAHOO_ARF_ABUSE, buildComplaint } from "./testing/complaint-fixtures.js";

describe("report field syntax", () => {
  test("blocks split on blank or whitespace-only lines; folded values joined; names lower-cased", () => {
    const groups = parseReportFields("Reporting-MTA: dns; a.example\r\n\r\nFinal-Recipient: rfc822; x@y\r\nDiagnostic-Code: smtp; 550\r\n\t5.1.1  no\r\n  such user\r\n \r\nAction: failed\r\n");
    assert.deepEqual(groups, [
      [["reporting-mta", "dns; a.example"]],
      [
        ["final-recipient", "rfc822; x@y"],
        ["diagnostic-code", "smtp; 550 5.1.1 no such user"],
      ],
      [["action", "failed"]],
    ]);
  });

  test("junk lines are skipped and do not continue into the next field", () => {
    const [group = []] = parseReportFields("Status: 5.0.0\nthis is not a field\n  nor this continuation\nAction: failed\n");
    assert.deepEqual(group, [
      ["status", "5.0.0"],
      ["action", "failed"],
    ]);
    assert.deepEqual(parseReportFields(""), []);
  });

  test("fieldValue takes the first non-empty value", () => {
    assert.equal(fieldValue([["a", ""], ["a", "x"], ["a", "y"]], "a"), "x");
    assert.equal(fieldValue([["a", "x"]], "b"), null);
  });

  test("bare addresses and message ids", () => {
    assert.equal(bareAddress("<a@b.test>"), "a@b.test");
    assert.equal(bareAddress(" a@b.test "), "a@b.test");
    assert.equal(bareAddress("<>"), null);
    assert.equal(bareAddress(null), null);
    assert.equal(bareMessageId("<id@host> (comment)"), "id@host");
    assert.equal(bareMessageId("id@host"), "id@host");
    assert.equal(bareMessageId(""), null);
  });
});

describe("readOriginalHeaders", () => {
  test("reads Message-ID, Return-Path, To and From from the header block only", () => {
    const original = readOriginalHeaders(
      'Return-Path: <r@b.test>\r\nFrom: "Acme, Inc." <billing@posthorn.test>\r\nTo: Bob\r\n <bob@example.net>, carol@example.net\r\nMessage-ID:\r\n <m1@posthorn.test>\r\n\r\nMessage-ID: <body@not.header>\r\n',
    );
    assert.deepEqual(original, { messageId: "m1@posthorn.test", returnPath: "r@b.test", to: "bob@example.net", from: "billing@posthorn.test" });
  });

  test("a null Return-Path and missing headers are null", () => {
    assert.deepEqual(readOriginalHeaders("Return-Path: <>\nSubject: x\n"), { messageId: null, returnPath: null, to: null, from: null });
    assert.deepEqual(readOriginalHeaders(""), { messageId: null, returnPath: null, to: null, from: null });
  });
});

describe("parseFeedbackReport", () => {
  const original = { messageId: "m1@p.test", returnPath: "bounce+x@b.test", to: "to@example.net", from: "f@p.test" };

  test("the report's own fields win over the original's", () => {
    const report = parseFeedbackReport(
      "Feedback-Type: Abuse\nUser-Agent: SomeFBL/1.0\nVersion: 1\nOriginal-Mail-From: <env@b.test>\nOriginal-Rcpt-To: <rcpt@example.net>\nOriginal-Rcpt-To: <second@example.net>\nArrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\nSource-IP: 192.0.2.1\nReported-Domain: p.test\n",
      original,
    );
    assert.deepEqual(report, {
      kind: "complaint",
      feedbackType: "abuse",
      originalRecipient: "rcpt@example.net",
      originalEnvelopeFrom: "env@b.test",
      originalMessageId: "m1@p.test",
      sourceIp: "192.0.2.1",
      userAgent: "SomeFBL/1.0",
      arrivalDate: "Thu, 8 Mar 2005 14:00:00 EDT",
      reportedDomain: "p.test",
    });
  });

  test("without envelope fields the original's To and Return-Path stand in; any Feedback-Type is passed on", () => {
    const report = parseFeedbackReport("Feedback-Type: not-spam\n\nReceived-Date: yesterday\n", original);
    assert.deepEqual([report.feedbackType, report.originalRecipient, report.originalEnvelopeFrom, report.arrivalDate], ["not-spam", "to@example.net", "bounce+x@b.test", "yesterday"]);
  });

  test("no Feedback-Type and no original", () => {
    const report = parseFeedbackReport("User-Agent: x\n", null);
    assert.deepEqual([report.feedbackType, report.originalRecipient, report.originalEnvelopeFrom, report.originalMessageId], ["unknown", null, null, null]);
  });
});

describe("ARF messages end to end", () => {
  test("Yahoo feedback loop with the original inline", async () => {
    assert.deepEqual(await parseBounceReport(Buffer.from(YAHOO_ARF_ABUSE)), {
      kind: "complaint",
      feedbackType: "abuse",
      originalRecipient: "frank@yahoo.example",
      originalEnvelopeFrom: FIXTURE_RETURN_PATH,
      originalMessageId: FIXTURE_MESSAGE_ID,
      sourceIp: "192.0.2.10",
      userAgent: "Yahoo!-Mail-Feedback/2.0",
      arrivalDate: "Mon, 08 Jul 2024 10:13:52 +0000",
      reportedDomain: "posthorn.test",
    });
  });

  test("AOL style without envelope fields: recipient from the original's To, sender from its Return-Path", async () => {
    const report = await parseBounceReport(Buffer.from(AOL_ARF_WITHOUT_ENVELOPE));
    assert.ok(report?.kind === "complaint");
    assert.deepEqual(
      [report.feedbackType, report.originalRecipient, report.originalEnvelopeFrom, report.originalMessageId, report.userAgent],
      ["abuse", "heidi@aol.example", FIXTURE_RETURN_PATH, FIXTURE_MESSAGE_ID, "AOL SComp"],
    );
  });

  test("buildComplaint round-trips any recipient, sender, Message-ID and type", async () => {
    const report = await parseBounceReport(buildComplaint({ recipient: "r@x.test", returnPath: "bounce+9.z@b.test", messageId: "q@p.test", feedbackType: "virus" }));
    assert.ok(report?.kind === "complaint");
    assert.deepEqual([report.feedbackType, report.originalRecipient, report.originalEnvelopeFrom, report.originalMessageId], ["virus", "r@x.test", "bounce+9.z@b.test", "q@p.test"]);
  });

  test("headers-only original, and a report with no original at all", async () => {
    const headersOnly = crlf(`Content-Type: multipart/report; report-type=feedback-report; boundary="f"

--f
Content-Type: text/plain

report
--f
Content-Type: message/feedback-report

Feedback-Type: fraud

--f
Content-Type: text/rfc822-headers

Return-Path: <${FIXTURE_RETURN_PATH}>
To: victim@example.net
Message-ID: <${FIXTURE_MESSAGE_ID}>
--f--
`);
    const report = await parseBounceReport(Buffer.from(headersOnly));
    assert.ok(report?.kind === "complaint");
    assert.deepEqual([report.feedbackType, report.originalRecipient, report.originalMessageId], ["fraud", "victim@example.net", FIXTURE_MESSAGE_ID]);

    const bare = headersOnly.slice(0, headersOnly.indexOf("--f\r\nContent-Type: text/rfc822-headers"));
    const partial = await parseBounceReport(Buffer.from(bare));
    assert.ok(partial?.kind === "complaint");
    assert.deepEqual([partial.feedbackType, partial.originalRecipient, partial.originalMessageId], ["fraud", null, null]);
  });
});
