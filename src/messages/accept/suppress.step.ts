// Inactive recipients: looked up once per stream for the whole call, then marked on each
// candidate. A message whose every recipient is inactive is refused or recorded, as its
// submission asks (see Submission.whenAllInactive).
import type { Store } from "../../store/store.js";
import type { SuppressionsService } from "../../suppressions/suppressions.service.js";
import { InactiveRecipients, inactiveRecipientsMessage } from "../accept.errors.js";
import { pending, type AcceptStep } from "./accept.step.js";
import type { Candidate } from "./candidate.js";

export function suppressStep(deps: { store: Store; suppressions: Pick<SuppressionsService, "findSuppressed"> }): AcceptStep {
  return {
    name: "suppress",
    async run(candidates: Candidate[]) {
      const live = pending(candidates);
      const byStream = new Map<string, { workspaceId: string; keys: Set<string> }>();
      for (const c of live) {
        const id = `${c.workspace.id}\u0000${c.stream}`;
        let entry = byStream.get(id);
        if (!entry) byStream.set(id, (entry = { workspaceId: c.workspace.id, keys: new Set() }));
        for (const r of c.recipients) entry.keys.add(r.key);
      }
      const inactive = new Map<string, Set<string>>();
      for (const [id, { workspaceId, keys }] of byStream) {
        inactive.set(id, await deps.suppressions.findSuppressed(deps.store.db, workspaceId, id.split("\u0000")[1]!, [...keys]));
      }
      for (const c of live) {
        const found = inactive.get(`${c.workspace.id}\u0000${c.stream}`)!;
        if (found.size === 0) continue;
        for (const r of c.recipients) r.suppressed = found.has(r.key);
        if (c.submission.whenAllInactive === "refuse" && c.recipients.every((r) => r.suppressed)) {
          const emails = c.recipients.map((r) => r.email);
          c.error = InactiveRecipients(inactiveRecipientsMessage(emails), { recipients: emails });
        }
      }
    },
  };
}
