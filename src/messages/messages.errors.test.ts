import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { errorCatalogue, isPosthornError } from "../shared/errors.js";
import { forbiddenExtension, MESSAGE_FORBIDDEN_ATTACHMENT, MESSAGE_INVALID } from "./messages.errors.js";

describe("messages errors", () => {
  it("catalogues both codes with a description", () => {
    const codes = new Map(errorCatalogue().map((e) => [e.code, e.description]));
    assert.ok(codes.get("MESSAGE_INVALID"));
    assert.ok(codes.get("MESSAGE_FORBIDDEN_ATTACHMENT"));
  });

  it("makes coded errors that carry the given message and details", () => {
    const err = MESSAGE_INVALID("Zero recipients specified", { field: "To" });
    assert.ok(isPosthornError(err, "MESSAGE_INVALID"));
    assert.equal(err.message, "Zero recipients specified");
    assert.deepEqual(err.details, { field: "To" });
    assert.equal(MESSAGE_FORBIDDEN_ATTACHMENT.code, "MESSAGE_FORBIDDEN_ATTACHMENT");
  });

  const cases: Array<[name: string, expected: string | null]> = [
    ["setup.exe", "exe"],
    ["SETUP.EXE", "exe"],
    ["script.js", "js"],
    ["run.bat", "bat"],
    ["run.cmd", "cmd"],
    ["app.jar", "jar"],
    ["installer.msi", "msi"],
    ["screen.scr", "scr"],
    ["macro.vbs", "vbs"],
    ["setup.exe.", "exe"], // Windows drops trailing dots and spaces
    ["setup.exe . ", "exe"],
    ["report.pdf", null],
    ["report.exe.pdf", null],
    ["data.json", null],
    ["archive.tar.gz", null],
    ["exe", null],
    ["README", null],
    [".exe", "exe"],
    ["", null],
  ];
  for (const [name, expected] of cases) {
    it(`forbiddenExtension(${JSON.stringify(name)}) is ${expected}`, () => {
      assert.equal(forbiddenExtension(name), expected);
    });
  }
});
