// Posthorn's own mail (sender-signature confirmations, data removal notices) goes the way every message goes: through
// acceptance, stored and delivered by the MTA, with its events and outcome recorded. It is accepted
// in one workspace of its own (POSTHORN_SYSTEM_WORKSPACE, created live on first use) on that
// workspace's default transactional stream, so it never appears in a tenant's messages, stats or
// webhooks, and From the operator's POSTHORN_SYSTEM_FROM, which the From rule does not judge (the
// operator configured it; no tenant chose it).
import type { AcceptService } from "../messages/accept/accept.service.js";
import { structuredSubmission } from "../messages/accept/submission.js";
import type { WorkspacesService, Workspace } from "../workspaces/workspaces.service.js";
import { WorkspaceExists, WorkspaceNotFound } from "../workspaces/workspaces.errors.js";
import { isPosthornError } from "../shared/errors.js";

/** One of Posthorn's own mails: a sender-signature confirmation, a data removal's notice. */
export interface SystemMail {
  to: { email: string; name: string };
  subject: string;
  text: string;
  html: string;
  /** Default "sender-confirmation". */
  tag?: string;
}

export interface SystemMailDeps {
  workspaces: Pick<WorkspacesService, "get" | "create">;
  accept: Pick<AcceptService, "acceptOne">;
  from: string;
  workspaceName: string;
}

export function systemMailer(deps: SystemMailDeps): (mail: SystemMail) => Promise<void> {
  return async (mail) => {
    const workspace = await systemWorkspace(deps);
    const submission = structuredSubmission({
      from: { email: deps.from, name: "Posthorn" },
      to: [mail.to],
      cc: [],
      bcc: [],
      replyTo: [],
      subject: mail.subject,
      htmlBody: mail.html,
      textBody: mail.text,
      tag: mail.tag ?? "sender-confirmation",
      headers: [],
      attachments: [],
      metadata: {},
      stream: "outbound",
      // Tracking would rewrite a confirmation link; links must reach the reader as written.
      trackOpens: false,
      trackLinks: "none",
    });
    await deps.accept.acceptOne(workspace, { ...submission, door: "system", senderCheck: "exempt" });
  };
}

/** Looked up on each mail (they are rare), so a sandbox switch by the operator applies at once. */
async function systemWorkspace(deps: SystemMailDeps): Promise<Workspace> {
  try {
    return await deps.workspaces.get(deps.workspaceName);
  } catch (err) {
    if (!isPosthornError(err, WorkspaceNotFound.code)) throw err;
  }
  try {
    return (await deps.workspaces.create(deps.workspaceName, { sandbox: false })).workspace;
  } catch (err) {
    // Another process created it at the same moment.
    if (!isPosthornError(err, WorkspaceExists.code)) throw err;
    return deps.workspaces.get(deps.workspaceName);
  }
}
