// Reply stripping on the shapes mail clients really produce (CRLF, as the bodies arrive).
import { test } from "node:test";
import assert from "node:assert/strict";
import { splitReply, stripReply } from "./reply-stripper.js";

const crlf = (...lines: string[]): string => lines.join("\r\n");

test("Gmail: attribution wrapped over two lines, quoted original below", () => {
  const text = crlf(
    "Thanks, that works for me.",
    "",
    "See you Tuesday.",
    "",
    "On Tue, Oct 1, 2024 at 10:00 AM Jane Doe <jane.doe@example.com>",
    "wrote:",
    "",
    "> Hi Bob,",
    "> Does Tuesday work for the review?",
    ">",
  );
  assert.equal(stripReply(text), "Thanks, that works for me.\r\n\r\nSee you Tuesday.");
});

test("Gmail: one-line attribution and a signature after '-- '", () => {
  const text = crlf("Yes, ship it.", "", "-- ", "Bob Smith", "ACME Corp", "", "On Tue, 1 Oct 2024 at 10:00, Jane <jane@example.com> wrote:", "> Ship it?");
  assert.equal(stripReply(text), "Yes, ship it.");
});

test("Outlook: the rule and From/Sent/To/Subject block", () => {
  const text = crlf(
    "Approved, go ahead.",
    "",
    "Regards,",
    "Bob",
    "",
    "________________________________",
    "From: Jane Doe <jane@example.com>",
    "Sent: Tuesday, October 1, 2024 10:00 AM",
    "To: Bob Smith <bob@example.com>",
    "Subject: Budget 2025",
    "",
    "Please approve the attached budget.",
  );
  assert.equal(stripReply(text), "Approved, go ahead.\r\n\r\nRegards,\r\nBob");
});

test("Outlook: From/Sent block without a rule, bolded by an HTML-to-text conversion", () => {
  const text = crlf("Done.", "", "*From:* Jane Doe <jane@example.com>", "*Sent:* Tuesday, October 1, 2024 10:00 AM", "*To:* Bob", "*Subject:* Task", "", "Can you do it?");
  assert.equal(stripReply(text), "Done.");
});

test("Outlook classic: -----Original Message-----", () => {
  const text = crlf("See below.", "", "-----Original Message-----", "From: Jane Doe [mailto:jane@example.com]", "Sent: Tuesday, October 1, 2024 10:00 AM", "Subject: Question", "", "What is the status?");
  assert.equal(stripReply(text), "See below.");
});

test("German Outlook: Von / Gesendet", () => {
  const text = crlf("Passt, danke!", "", "Von: Jane Doe <jane@example.com>", "Gesendet: Dienstag, 1. Oktober 2024 10:00", "An: Bob", "Betreff: Termin", "", "Passt Dienstag?");
  assert.equal(stripReply(text), "Passt, danke!");
});

test("French Gmail: « a écrit : »", () => {
  const text = crlf("D'accord.", "", "Le mar. 1 oct. 2024 à 10:00, Jane Doe <jane@example.com> a écrit :", "", "> Ça te va ?");
  assert.equal(stripReply(text), "D'accord.");
});

test("Apple Mail on iOS: quoted attribution and 'Sent from my iPhone'", () => {
  const text = crlf("Sounds good", "", "Sent from my iPhone", "", "> On Oct 1, 2024, at 10:00, Jane Doe <jane@example.com> wrote:", "> ", "> Lunch at noon?");
  assert.equal(stripReply(text), "Sounds good");
});

test("Apple Mail on macOS: unquoted attribution", () => {
  const text = crlf("Noon is fine.", "", "> On 1 Oct 2024, at 10:00, Jane Doe <jane@example.com> wrote:", "> Lunch?");
  assert.equal(stripReply(text), "Noon is fine.");
  const mac = crlf("Noon is fine.", "", "On 1 Oct 2024, at 10:00, Jane Doe <jane@example.com> wrote:", "", "> Lunch?");
  assert.equal(stripReply(mac), "Noon is fine.");
});

test("an unknown intro line ending in ':' goes with the quote below it", () => {
  const text = crlf("Agreed.", "", "Jane Doe <jane@example.com> hat geschrieben:", "> Agreed?");
  assert.equal(stripReply(text), "Agreed.");
});

test("bottom-posted: the unquoted lines are the reply", () => {
  const text = crlf("On Tue, Oct 1, 2024 at 10:00 AM Jane <jane@example.com> wrote:", "> Is it fixed?", "", "Yes, since this morning.", "", "> And deployed?", "", "Also yes.");
  assert.equal(stripReply(text), "Yes, since this morning.\r\n\r\n\r\nAlso yes.");
});

test("a message that quotes nothing: stripReply is '' (as Postmark), splitReply says so", () => {
  const text = crlf("Hello,", "", "I would like to order 3 more.", "", "-- ", "Bob");
  assert.equal(stripReply(text), "");
  assert.deepEqual(splitReply(text), { reply: "Hello,\r\n\r\nI would like to order 3 more.", found: false });
});

test("lines that only look like markers do not cut the reply", () => {
  const text = crlf("On Monday we shipped it.", "From: the whole team", "", "On Tue, Oct 1, 2024 at 10:00 AM Jane <jane@example.com> wrote:", "> Shipped?");
  assert.equal(stripReply(text), "On Monday we shipped it.\r\nFrom: the whole team");
});

test("a forward is not a reply: its From:/Date: lines are not an Outlook block", () => {
  const text = crlf("FYI", "", "---------- Forwarded message ---------", "From: Jane <jane@example.com>", "Date: Tue, Oct 1, 2024", "Subject: Plan", "", "> quoted inside the forward");
  assert.equal(stripReply(text), "");
  assert.equal(splitReply(text).found, false);
  const apple = crlf("See this", "", "Begin forwarded message:", "", "From: Jane <jane@example.com>", "Date: 1 October 2024", "", "Body");
  assert.equal(stripReply(apple), "");
});

test("LF input keeps LF; empty and non-string input give ''", () => {
  assert.equal(stripReply("Ok\n\nOn Tue, Oct 1, 2024 at 10:00 AM Jane <j@example.com> wrote:\n> x\n"), "Ok");
  assert.equal(stripReply("a\nb\n> q"), "a\nb");
  assert.equal(stripReply(""), "");
  assert.equal(stripReply(undefined as unknown as string), "");
});

test("a long text without markers is handled in one pass", () => {
  const text = Array.from({ length: 50_000 }, (_, i) => `line ${i} On and From: but no marker`).join("\r\n");
  const started = Date.now();
  assert.equal(stripReply(text), "");
  assert.ok(Date.now() - started < 2000);
});
