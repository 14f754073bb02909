import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { PosthornError } from "../shared/errors.js";
import { mappedErrorCodes, replyError, replyForError, startsWithEnhancedCode } from "./smtp.errors-map.js";

describe("the SMTP reply table", () => {
  const cases: Array<[unknown, number, string]> = [
    [new PosthornError("MESSAGE_INVALID", "bad"), 550, "5.6.0"],
    [new PosthornError("MESSAGE_FORBIDDEN_ATTACHMENT", "exe"), 550, "5.6.0"],
    [new PosthornError("MESSAGE_TOO_LARGE", "big"), 552, "5.3.4"],
    [new PosthornError("STREAM_NOT_FOUND", "no"), 550, "5.7.1"],
    [new PosthornError("STREAM_NOT_SENDABLE", "inbound"), 550, "5.7.1"],
    [new PosthornError("INACTIVE_RECIPIENTS", "all suppressed"), 550, "5.7.1"],
    [new PosthornError("TOKEN_INVALID", "no"), 535, "5.7.8"],
    [new PosthornError("WORKSPACE_NOT_FOUND", "No workspace named acme"), 451, "4.3.0"],
    [new PosthornError("SOMETHING_NEW", "?"), 451, "4.3.0"],
    [new Error("disk full"), 451, "4.3.0"],
    ["a string", 451, "4.3.0"],
  ];
  for (const [err, code, enhanced] of cases) {
    test(`${err instanceof PosthornError ? err.code : String(err)} → ${code} ${enhanced}`, () => {
      const reply = replyForError(err);
      assert.equal(reply.code, code);
      assert.equal(reply.enhanced, enhanced);
      assert.equal(reply.enhanced[0], String(reply.code)[0], "the enhanced class agrees with the reply code");
    });
  }

  test("internal error texts do not leak; domain texts are kept on one line", () => {
    assert.doesNotMatch(replyForError(new Error("SQLITE_CORRUPT at /var/lib")).text, /SQLITE/);
    const err = replyError(replyForError(new PosthornError("MESSAGE_INVALID", "line one\r\nline two")));
    assert.equal(err.message, "5.6.0 line one line two");
    assert.equal(err.responseCode, 550);
  });

  test("recognizes a text that already starts with an enhanced code", () => {
    assert.equal(startsWithEnhancedCode("5.7.1 no"), true);
    assert.equal(startsWithEnhancedCode("2.0.0"), true);
    assert.equal(startsWithEnhancedCode("Accepted"), false);
    assert.equal(startsWithEnhancedCode(["5.7.1 no"]), false);
  });

  test("maps the submission errors the domain raises", () => {
    for (const code of ["MESSAGE_INVALID", "MESSAGE_TOO_LARGE", "STREAM_NOT_FOUND", "STREAM_NOT_SENDABLE"]) assert.ok(mappedErrorCodes().includes(code));
  });
});
