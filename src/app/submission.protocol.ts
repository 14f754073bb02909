// The messages between the main thread and the submission thread (submission.thread.ts): the
// thread asks the domain what only the main thread can answer (who AUTH names, which workspace a
// trusted network means, and acceptance itself), and reports its listeners.
import type { SmtpIdentity, Workspace } from "../workspaces/workspaces.service.js";
import type { SmtpMessage } from "../smtp/x-pm-headers.js";
import type { TlsCredentials } from "../smtp/tls-certificate.js";
import type { Config } from "../config/config.schema.js";
import type { SubmissionListener } from "./submission-listeners.js";

export interface SubmissionThreadData {
  config: Config;
  tls: TlsCredentials | null;
  listeners: SubmissionListener[];
}

export type SubmissionCall =
  | { op: "authenticate"; username: string; password: string }
  | { op: "workspace"; name: string }
  | { op: "accept"; workspace: Workspace; message: SmtpMessage };

export type SubmissionAnswer = SmtpIdentity | Workspace | { messageId: string } | null;

export type FromSubmissionThread =
  | ({ type: "call"; id: number } & SubmissionCall)
  | { type: "listening"; servers: Array<{ key: string; host: string; port: number; fingerprint256: string }> }
  | { type: "failed"; key: string; code: string | null; message: string }
  | { type: "closed" };

export type ToSubmissionThread =
  | { type: "answer"; id: number; ok: true; value: SubmissionAnswer }
  | { type: "answer"; id: number; ok: false; code: string | null; message: string; details: Record<string, unknown> }
  | { type: "close" };
