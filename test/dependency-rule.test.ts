// The dependency rule of DESIGN.md is enforced by the lint configuration (eslint.config.js), which
// CI runs. This proves the configuration refuses what the rule forbids, so that a later edit of the
// configuration cannot switch the rule off unnoticed: each line is linted as if it stood in a file
// of that folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { ESLint } from "eslint";

const ROOT = resolve(import.meta.dirname, "../..");

async function restricted(file: string, line: string): Promise<boolean> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(`${line}\nexport const x = 1;\n`, { filePath: resolve(ROOT, file) });
  return result!.messages.some((m) => m.ruleId === "no-restricted-imports");
}

test("domains may not import edges, wiring or edge libraries; edges may not import repositories or the store", { timeout: 60_000 }, async () => {
  const cases: Array<[file: string, line: string, refused: boolean]> = [
    ["src/messages/accept/x.ts", 'import type { FastifyInstance } from "fastify";', true],
    ["src/mta/queue/x.ts", 'import { SMTPServer } from "smtp-server";', true],
    ["src/bounces/x.ts", 'import { toPostmarkError } from "../api/postmark/postmark.errors.js";', true],
    ["src/inbound/x.ts", 'import { replyError } from "../smtp/smtp.errors-map.js";', true],
    ["src/events/x.ts", 'import { buildContainer } from "../app/container.js";', true],
    ["src/api/postmark/x.ts", 'import { MessagesRepository } from "../../messages/messages.repository.js";', true],
    ["src/smtp/x.ts", 'import { openStore } from "../store/store.js";', true],
    ["src/shared/x.ts", 'import { addressKey } from "../messages/addresses.js";', true],
    // What the rule allows.
    ["src/messages/accept/x.ts", 'import { addressKey } from "../../shared/email-address.js";', false],
    ["src/api/postmark/x.ts", 'import type { MessagesService } from "../../messages/messages.service.js";', false],
    ["src/mta/x.ts", 'import { classifyReply } from "../bounces/reply.classifier.js";', false],
    ["src/messages/x.test.ts", 'import { buildContainer } from "../app/container.js";', false],
  ];
  for (const [file, line, refused] of cases) assert.equal(await restricted(file, line), refused, `${file}: ${line}`);
});
