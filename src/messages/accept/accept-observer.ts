// What acceptance tells the instruments after each commit (src/observability/metrics.ts): the
// messages accepted, by door and workspace, and the deliveries written suppressed (never attempted,
// so the MTA never records them). Told after the commit, so a rolled-back write counts nothing.
import type { NewDeliveryRow } from "../../store/schema.js";
import type { Candidate } from "./candidate.js";
import type { Door } from "./submission.js";

export interface AcceptObserver {
  accepted(door: Door, workspaceId: string): void;
  suppressed(domain: string): void;
}

/** Tells `observer` what a commit of `passed` wrote; candidates found to repeat an earlier message (`earlier`) were not accepted again. */
export function tellAccepted(observer: AcceptObserver, passed: readonly Candidate[], deliveries: readonly NewDeliveryRow[]): void {
  for (const c of passed) if (!c.earlier) observer.accepted(c.submission.door ?? (c.submission.content.kind === "raw" ? "smtp" : "api"), c.workspace.id);
  for (const d of deliveries) if (d.state === "suppressed") observer.suppressed(d.domain);
}
