import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isPosthornError } from "../../shared/errors.js";
import { parsePostmarkMessage } from "./message.parser.js";

describe("parsePostmarkMessage maps Postmark fields onto the draft", () => {
  it("maps every field", () => {
    const draft = parsePostmarkMessage({
      From: "Shop <orders@shop.example>",
      To: "ana@example.org",
      Cc: "bo@example.org",
      Bcc: "audit@shop.example",
      ReplyTo: "help@shop.example",
      Subject: "Hi",
      HtmlBody: "<p>Hi</p>",
      TextBody: "Hi",
      Tag: "welcome",
      Headers: [{ Name: "X-Campaign", Value: "spring" }],
      Attachments: [{ Name: "a.png", Content: "aGk=", ContentType: "image/png", ContentID: "cid:a.png", ContentLength: 2 }],
      Metadata: { customer: "42" },
      MessageStream: "broadcast",
      TrackOpens: true,
      TrackLinks: "HtmlAndText",
    });
    assert.deepEqual(draft, {
      from: "Shop <orders@shop.example>",
      to: "ana@example.org",
      cc: "bo@example.org",
      bcc: "audit@shop.example",
      replyTo: "help@shop.example",
      subject: "Hi",
      htmlBody: "<p>Hi</p>",
      textBody: "Hi",
      tag: "welcome",
      headers: [{ name: "X-Campaign", value: "spring" }],
      attachments: [{ name: "a.png", content: "aGk=", contentType: "image/png", contentId: "cid:a.png" }],
      metadata: { customer: "42" },
      stream: "broadcast",
      trackOpens: true,
      trackLinks: "html-and-text",
    });
  });

  const empty = {
    from: null, to: null, cc: null, bcc: null, replyTo: null, subject: null, htmlBody: null, textBody: null, tag: null,
    headers: [], attachments: [], metadata: {}, stream: null, trackOpens: false, trackLinks: "none",
  };

  it("treats absent and null fields alike", () => {
    assert.deepEqual(parsePostmarkMessage({}), empty);
    const allNull = Object.fromEntries(
      ["From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "HtmlBody", "TextBody", "Tag", "Headers", "Attachments", "Metadata",
        "MessageStream", "TrackOpens", "TrackLinks"].map((k) => [k, null]),
    );
    assert.deepEqual(parsePostmarkMessage(allNull), empty);
  });

  it("ignores unknown fields and other spellings of known ones", () => {
    assert.deepEqual(parsePostmarkMessage({ from: "a@b.com", TO: "c@d.com", InlineCss: true, TemplateModel: {} }), empty);
  });

  it("accepts TrackLinks in any case and returns the canonical spelling", () => {
    assert.equal(parsePostmarkMessage({ TrackLinks: "htmlonly" }).trackLinks, "html-only");
  });

  it("leaves missing attachment Name and Content for validation to report", () => {
    const draft = parsePostmarkMessage({ Attachments: [{ ContentType: null }] });
    assert.deepEqual(draft.attachments, [{ name: "", content: "", contentType: null, contentId: null }]);
  });

  it("turns a null header Value into an empty one", () => {
    assert.deepEqual(parsePostmarkMessage({ Headers: [{ Name: "X-A", Value: null }] }).headers, [{ name: "X-A", value: "" }]);
  });

  it("keeps a __proto__ metadata key as data", () => {
    const draft = parsePostmarkMessage(JSON.parse('{"Metadata": {"__proto__": "x", "a": "b"}}'));
    assert.deepEqual(Object.keys(draft.metadata), ["__proto__", "a"]);
    assert.equal(Object.getPrototypeOf(draft.metadata), Object.prototype);
  });
});

describe("parsePostmarkMessage rejects wrong JSON types, naming the field", () => {
  const cases: Array<[what: string, body: unknown, message: string]> = [
    ["a body that is an array", [], "The request body must be a JSON object (a Postmark Message)."],
    ["a body that is null", null, "The request body must be a JSON object (a Postmark Message)."],
    ["a body that is a string", "hi", "The request body must be a JSON object (a Postmark Message)."],
    ["To as a number", { To: 42 }, "'To' must be a string, not a number."],
    ["From as an object", { From: { Email: "a@b.com" } }, "'From' must be a string, not an object."],
    ["Cc as an array", { Cc: ["a@b.com"] }, "'Cc' must be a string, not an array."],
    ["Subject as a boolean", { Subject: true }, "'Subject' must be a string, not a boolean."],
    ["MessageStream as a number", { MessageStream: 1 }, "'MessageStream' must be a string, not a number."],
    ["Headers as an object", { Headers: { "X-A": "1" } }, "'Headers' must be an array, not an object."],
    ["a header that is a string", { Headers: ["X-A: 1"] }, "'Headers[0]' must be an object with Name and Value, not a string."],
    ["a header without Name", { Headers: [{ Value: "1" }] }, "'Headers[0].Name' is required."],
    ["a header Value as a number", { Headers: [{ Name: "X-A", Value: 1 }] }, "'Headers[0].Value' must be a string, not a number."],
    ["Attachments as a string", { Attachments: "a.txt" }, "'Attachments' must be an array, not a string."],
    ["an attachment that is null", { Attachments: [null] }, "'Attachments[0]' must be an object with Name, Content and ContentType, not null."],
    ["attachment Content as a number", { Attachments: [{ Name: "a", Content: 1 }] }, "'Attachments[0].Content' must be a string, not a number."],
    ["attachment ContentID as a number", { Attachments: [{ Name: "a", Content: "aGk=", ContentID: 7 }] }, "'Attachments[0].ContentID' must be a string, not a number."],
    ["Metadata as an array", { Metadata: [] }, "'Metadata' must be an object of strings, not an array."],
    ["a metadata value as a number", { Metadata: { order: 42 } }, "'Metadata.order' must be a string, not a number."],
    ["TrackOpens as a string", { TrackOpens: "true" }, "'TrackOpens' must be true or false, not a string."],
    ["TrackLinks as a boolean", { TrackLinks: true }, "'TrackLinks' must be a string, not a boolean."],
    ["TrackLinks not one of the four", { TrackLinks: "Always" }, "'TrackLinks' must be one of None, HtmlAndText, HtmlOnly, TextOnly, not 'Always'."],
  ];
  for (const [what, body, message] of cases) {
    it(what, () => {
      assert.throws(
        () => parsePostmarkMessage(body),
        (err) => isPosthornError(err, "MESSAGE_INVALID") && err.message === message,
      );
    });
  }
});
