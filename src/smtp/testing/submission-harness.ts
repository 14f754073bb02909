// The submission listener under test: started on loopback with a fake accept function behind the
// listener's accept signature (recording what it was given), and a nodemailer client for it.
// Shared by the submission.*.test.ts files; test/smtp-submission.test.ts runs the real acceptance.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { silentLogger } from "../../shared/logger.js";
import type { Workspace } from "../../workspaces/workspaces.service.js";
import type { SmtpMessage } from "../x-pm-headers.js";
import { startSubmissionServer, type SubmissionServer, type SubmissionServerOptions } from "../submission.server.js";

export const ACME: Workspace = { id: "ws_acme", name: "acme", sandbox: false, createdAt: 0 };
export const BENCH: Workspace = { id: "ws_bench", name: "bench", sandbox: false, createdAt: 0 };
export const TOKEN = "acme-server-token-0123456789";
export const ENHANCED_REPLY = /^\d{3}[ -][245]\.\d{1,3}\.\d{1,3} /;

export interface Harness {
  server: SubmissionServer;
  submissions: Array<{ workspace: Workspace; submission: SmtpMessage }>;
  certPem: string;
  dataDir: string;
}

const dataDirs: string[] = [];

/** Removes the data directories the harness created (call it from the test file's after()). */
export function removeHarnessDirs(): void {
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function start(overrides: Partial<SubmissionServerOptions> = {}, dataDir?: string): Promise<Harness> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "posthorn-smtp-"));
  if (!dataDir) dataDirs.push(dir);
  const submissions: Harness["submissions"] = [];
  let counter = 0;
  const server = await startSubmissionServer({
    host: "127.0.0.1",
    port: 0,
    hostname: "smtp.posthorn.test",
    tls: null,
    dataDir: dir,
    logger: silentLogger(),
    authenticate: async (user, pass) => (user === TOKEN && pass === TOKEN ? { workspace: ACME, stream: null } : null),
    accept: async (workspace, submission) => {
      submissions.push({ workspace, submission });
      counter += 1;
      return { messageId: `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}` };
    },
    ...overrides,
  });
  return { server, submissions, certPem: readFileSync(join(dir, "smtp-tls", "cert.pem"), "utf8"), dataDir: dir };
}

export function transport(h: Harness, options: Partial<SMTPTransport.Options> = {}) {
  return nodemailer.createTransport({
    host: "127.0.0.1",
    port: h.server.port,
    secure: false,
    requireTLS: true,
    tls: { ca: h.certPem, servername: "localhost" },
    auth: { user: TOKEN, pass: TOKEN },
    ...options,
  } as SMTPTransport.Options);
}

export const MESSAGE = {
  from: "Acme <support@acme.test>",
  to: "ada@example.test",
  subject: "Hello ✓",
  text: "Thanks for your order.",
};

export function smtpError(err: unknown): { responseCode?: number; response?: string } {
  return err as { responseCode?: number; response?: string };
}
