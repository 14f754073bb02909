// The first step: the acceptance policy (acceptance.policy.ts) and the stream, which must exist
// in the workspace and be able to send.
import { isPosthornError } from "../../shared/errors.js";
import type { WorkspacesService } from "../../workspaces/workspaces.service.js";
import { pending, type AcceptStep } from "./accept.step.js";
import type { Candidate } from "./candidate.js";
import { checkContent, resolveStream } from "./acceptance.policy.js";

export function validateStep(deps: { workspaces: Pick<WorkspacesService, "assertSendableStream"> }): AcceptStep {
  return {
    name: "validate",
    async run(candidates: Candidate[]) {
      for (const c of pending(candidates)) {
        try {
          c.recipients = checkContent(c.view);
          c.stream = resolveStream(c.submission);
          await deps.workspaces.assertSendableStream(c.workspace.id, c.stream);
        } catch (err) {
          if (!isPosthornError(err)) throw err;
          c.error = err;
        }
      }
    },
  };
}
