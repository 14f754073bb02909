import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isPosthornError } from "../shared/errors.js";
import type { MessageDraft } from "./message.types.js";
import { DEFAULT_MESSAGE_LIMITS, DEFAULT_STREAM, isBase64, validateMessage } from "./message.validation.js";

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");

function draft(over: Partial<MessageDraft> = {}): MessageDraft {
  return {
    from: "Shop <orders@shop.example>",
    to: "ana@example.org",
    cc: null,
    bcc: null,
    replyTo: null,
    subject: "Your order",
    htmlBody: null,
    textBody: "Thanks!",
    tag: null,
    headers: [],
    attachments: [],
    metadata: {},
    stream: null,
    trackOpens: false,
    trackLinks: "none",
    ...over,
  };
}

const att = (name: string, content = b64("hi"), contentType: string | null = "text/plain", contentId: string | null = null) => ({
  name, content, contentType, contentId,
});

const recipients = (n: number) => Array.from({ length: n }, (_, i) => `r${i}@example.org`).join(", ");

describe("validateMessage accepts a valid draft", () => {
  it("parses addresses, defaults the stream and keeps the rest", () => {
    const m = validateMessage(
      draft({ cc: "Bo <bo@example.org>", bcc: "audit@shop.example", replyTo: "help@shop.example", tag: "order", trackOpens: true, trackLinks: "html-only" }),
    );
    assert.deepEqual(m.from, { email: "orders@shop.example", name: "Shop" });
    assert.deepEqual(m.to, [{ email: "ana@example.org", name: "" }]);
    assert.deepEqual(m.cc, [{ email: "bo@example.org", name: "Bo" }]);
    assert.deepEqual(m.bcc, [{ email: "audit@shop.example", name: "" }]);
    assert.deepEqual(m.replyTo, [{ email: "help@shop.example", name: "" }]);
    assert.equal(m.stream, DEFAULT_STREAM);
    assert.equal(m.stream, "outbound");
    assert.equal(m.subject, "Your order");
    assert.equal(m.textBody, "Thanks!");
    assert.equal(m.htmlBody, null);
    assert.equal(m.tag, "order");
    assert.equal(m.trackOpens, true);
    assert.equal(m.trackLinks, "html-only");
  });

  it("treats empty strings as absent and keeps a given stream", () => {
    const m = validateMessage(draft({ subject: null, htmlBody: "<p>x</p>", textBody: "", tag: "", stream: " broadcast " }));
    assert.equal(m.subject, "");
    assert.equal(m.textBody, null);
    assert.equal(m.tag, null);
    assert.equal(m.stream, "broadcast");
  });

  it("accepts exactly the recipient limit across To, Cc and Bcc", () => {
    const m = validateMessage(draft({ to: recipients(20), cc: recipients(20), bcc: recipients(10) }));
    assert.equal(m.to.length + m.cc.length + m.bcc.length, 50);
  });

  it("decodes attachments, defaults the content type and strips cid: from ContentID", () => {
    const m = validateMessage(
      draft({
        attachments: [
          att("readme.txt", b64("hello world")),
          att("logo.png", b64(Buffer.from([0x89, 0x50])), "image/png", "cid:logo.png"),
          att("data.bin.gz", "AAEC\r\nAwQ=", null, "<part1@x>"),
        ],
      }),
    );
    assert.equal(m.attachments[0]!.content.toString(), "hello world");
    assert.equal(m.attachments[0]!.contentId, null);
    assert.deepEqual([...m.attachments[1]!.content], [0x89, 0x50]);
    assert.equal(m.attachments[1]!.contentId, "logo.png");
    assert.equal(m.attachments[2]!.contentType, "application/octet-stream");
    assert.deepEqual([...m.attachments[2]!.content], [0, 1, 2, 3, 4]);
    assert.equal(m.attachments[2]!.contentId, "part1@x");
  });

  it("drops headers Posthorn writes itself, keeps the others and a well-formed Message-ID", () => {
    const m = validateMessage(
      draft({
        headers: [
          { name: "X-Campaign", value: "spring" },
          { name: "From", value: "ceo@bank.example" },
          { name: "content-type", value: "text/html" },
          { name: "Bcc", value: "spy@example.org" },
          { name: "Message-ID", value: " <custom-1@shop.example> " },
          { name: "List-Unsubscribe", value: "<mailto:u@shop.example>" },
          { name: "X-Unicode", value: "Grüße" },
        ],
      }),
    );
    assert.deepEqual(m.headers, [
      { name: "X-Campaign", value: "spring" },
      { name: "Message-ID", value: "<custom-1@shop.example>" },
      { name: "List-Unsubscribe", value: "<mailto:u@shop.example>" },
      { name: "X-Unicode", value: "Grüße" },
    ]);
  });

  it("keeps metadata within the limits", () => {
    const metadata = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`.padEnd(20, "x"), "v".repeat(80)]));
    assert.deepEqual(validateMessage(draft({ metadata })).metadata, metadata);
  });

  it("takes limits from the caller", () => {
    assert.throws(() => validateMessage(draft({ textBody: "x".repeat(200) }), { maxMessageBytes: 100 }), /larger than the limit/);
    assert.equal(DEFAULT_MESSAGE_LIMITS.maxMessageBytes, 10 * 1024 * 1024);
  });
});

describe("validateMessage rejects invalid drafts with Postmark-like messages", () => {
  const big = "x".repeat(DEFAULT_MESSAGE_LIMITS.maxBodyBytes + 1);
  const cases: Array<[what: string, over: Partial<MessageDraft>, message: RegExp | string]> = [
    ["no From", { from: null }, "Invalid 'From' address: ''."],
    ["a bad From", { from: "shop" }, "Invalid 'From' address: 'shop'."],
    ["two From mailboxes", { from: "a@b.com, c@d.com" }, "Invalid 'From' address: 'a@b.com, c@d.com'."],
    ["a bad To", { to: "ana@example.org, bad" }, "Invalid 'To' address: 'bad'."],
    ["a bad Cc", { cc: "x" }, "Invalid 'Cc' address: 'x'."],
    ["a bad Bcc", { bcc: "y@" }, "Invalid 'Bcc' address: 'y@'."],
    ["a bad ReplyTo", { replyTo: "z" }, "Invalid 'ReplyTo' address: 'z'."],
    ["no body", { textBody: null, htmlBody: null }, "Provide either email TextBody or HtmlBody or both."],
    ["empty bodies", { textBody: "", htmlBody: "" }, "Provide either email TextBody or HtmlBody or both."],
    ["a TextBody over 5 MB", { textBody: big }, /TextBody is larger than 5 MB/],
    ["an HtmlBody over 5 MB", { htmlBody: big }, /HtmlBody is larger than 5 MB/],
    ["a Subject over 2000 chars", { subject: "s".repeat(2001) }, "Subject must be at most 2000 characters."],
    ["a Tag over 1000 chars", { tag: "t".repeat(1001) }, "Tag must be at most 1000 characters."],
    ["11 metadata fields", { metadata: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, "v"])) }, /at most 10 fields/],
    ["a metadata key over 20 chars", { metadata: { ["k".repeat(21)]: "v" } }, /Metadata key 'k{21}' is longer than 20/],
    ["a metadata value over 80 chars", { metadata: { k: "v".repeat(81) } }, /Metadata value of 'k' is longer than 80/],
    ["an empty metadata key", { metadata: { "": "v" } }, /may not be empty/],
    ["a header name with a space", { headers: [{ name: "X Bad", value: "1" }] }, "Invalid header name: 'X Bad'."],
    ["a header name with a colon", { headers: [{ name: "X-Bad:", value: "1" }] }, "Invalid header name: 'X-Bad:'."],
    ["an empty header name", { headers: [{ name: "", value: "1" }] }, "Invalid header name: ''."],
    ["a non-ASCII header name", { headers: [{ name: "X-Größe", value: "1" }] }, /Invalid header name/],
    ["header injection with CRLF", { headers: [{ name: "X-A", value: "1\r\nBcc: spy@example.org" }] }, /Header 'X-A' has a line break/],
    ["header injection with a bare LF", { headers: [{ name: "X-A", value: "1\nX-B: 2" }] }, /line break/],
    ["a reserved header with CRLF", { headers: [{ name: "Subject", value: "x\r\nBcc: a@b.com" }] }, /line break/],
    ["a malformed Message-ID", { headers: [{ name: "Message-ID", value: "no-brackets" }] }, /Message-ID' must be of the form <id@domain>/],
    ["two Message-IDs", { headers: [{ name: "Message-ID", value: "<a@b>" }, { name: "message-id", value: "<c@d>" }] }, /Only one Message-ID/],
    ["an attachment without Name", { attachments: [att("")] }, "Attachment 1 has no Name."],
    ["an attachment without Content", { attachments: [att("a.txt", "")] }, "Attachment 'a.txt' has no Content."],
    ["an attachment with bad base64", { attachments: [att("a.txt", "not base64!")] }, "Attachment 'a.txt' Content is not valid base64."],
    ["an attachment with URL-safe base64", { attachments: [att("a.txt", "-_-_")] }, /not valid base64/],
    ["an attachment name with a line break", { attachments: [att("a\r\n.txt")] }, /control characters/],
    ["an invalid ContentType", { attachments: [att("a.txt", b64("x"), "readme (1).txt")] }, /invalid ContentType: 'readme \(1\)\.txt'/],
    ["a ContentID with a space", { attachments: [att("a.png", b64("x"), "image/png", "my logo")] }, /invalid ContentID: 'my logo'/],
    ["a non-ASCII ContentID", { attachments: [att("a.png", b64("x"), "image/png", "lögo")] }, /invalid ContentID/],
    [
      "a message over 10 MB",
      { textBody: "x".repeat(4 * 1024 * 1024), attachments: [att("a.bin", "A".repeat(6.5 * 1024 * 1024), null)] },
      /larger than the limit of 10 MB/,
    ],
  ];
  for (const [what, over, message] of cases) {
    it(what, () => {
      assert.throws(
        () => validateMessage(draft(over)),
        (err) => {
          assert.ok(isPosthornError(err, "MESSAGE_INVALID"), `expected MESSAGE_INVALID, got ${String(err)}`);
          if (typeof message === "string") assert.equal(err.message, message);
          else assert.match(err.message, message);
          return true;
        },
      );
    });
  }

});

describe("isBase64", () => {
  const cases: Array<[string, boolean]> = [
    ["", true],
    ["aGk=", true],
    ["aGVsbG8=", true],
    ["aGVsbG8gd29ybGQ=", true],
    ["aGk", true], // unpadded but decodable
    ["aGVs\r\nbG8=", true],
    [" aGVsbG8= ", true],
    ["a", false],
    ["aGk==", false],
    ["aG=k", false],
    ["a===", false],
    ["aGk!", false],
    ["aGk_", false],
    ["aGkä", false],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} is ${expected ? "" : "not "}base64`, () => assert.equal(isBase64(input), expected));
  }
});
