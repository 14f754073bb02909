// The tracking step: after compose, a message whose opens are tracked gets the open pixel in its
// HTML, and one whose links are tracked gets them rewritten to signed redirect URLs
// (src/tracking/). It works on the composed MIME, so mail from the Postmark API and from SMTP
// submission is treated alike (mime-text-rewrite.ts).
//
// What applies: the message's own TrackOpens / TrackLinks, or else the workspace's setting, as
// Postmark does — a workspace with open tracking on tracks every message, whatever the message
// says ("there is no way to disable open tracking on a per-email basis when the server's setting
// is enabled"); a message's TrackLinks other than None wins over the workspace's. Posthorn keeps
// no per-stream default (Postmark's API has no field to set one).
//
// Tokens name the message, not the recipient: one MIME is stored per message and signed once for
// all its recipients (src/mta/mta.worker.ts), so a per-recipient pixel would need a composition
// and a signature per recipient at delivery. A read is attributed to the recipient when the
// message has only one (every message of a batch call does); see src/tracking/README.md.
import type { AcceptStep } from "../messages/accept/accept.step.js";
import { pending } from "../messages/accept/accept.step.js";
import type { Candidate } from "../messages/accept/candidate.js";
import type { LinkTracking } from "../messages/message.types.js";
import type { TrackingSettings } from "../tracking/tracking-settings.js";
import type { TrackingService } from "../tracking/tracking.service.js";
import { addOpenPixel, trackHtmlLinks, trackTextLinks } from "../tracking/link-rewrite.js";
import { rewriteTextParts, type TextKind } from "./mime-text-rewrite.js";

export function trackingStep(deps: { settings: TrackingSettings; tracking: Pick<TrackingService, "openUrl" | "clickUrl"> }): AcceptStep {
  return {
    name: "tracking",
    async run(candidates: Candidate[]) {
      const live = pending(candidates);
      // Nothing to look up when no message asks for tracking and the workspaces' settings are cached.
      const settings = await deps.settings.forWorkspaces(live.map((c) => c.workspace.id));
      for (const c of live) {
        const workspace = settings.get(c.workspace.id);
        // The message's own setting, else its stream's default, else the workspace's.
        const stream = workspace?.streams.get(c.stream);
        const opens = c.submission.trackOpens || (stream?.trackOpens ?? workspace?.trackOpens ?? false);
        const links: LinkTracking = c.submission.trackLinks !== "none" ? c.submission.trackLinks : (stream?.trackLinks ?? workspace?.trackLinks ?? "none");
        if (!opens && links === "none") continue;
        // The message record shows what was applied, not only what was asked.
        c.submission.trackOpens = opens;
        c.submission.trackLinks = links;
        let rewritten = 0;
        const urls = { openUrl: deps.tracking.openUrl.bind(deps.tracking), clickUrl: (id: string, where: "html" | "text", url: string) => (rewritten++, deps.tracking.clickUrl(id, where, url)) };
        c.mime = rewriteTextParts(c.mime!, (body, kind) => track(body, kind, c.id, opens, links, urls));
        c.trackedLinks = rewritten;
      }
    },
  };
}

function track(body: string, kind: TextKind, messageId: string, opens: boolean, links: LinkTracking, urls: Pick<TrackingService, "openUrl" | "clickUrl">): string {
  let out = body;
  if (kind === "html" && (links === "html-and-text" || links === "html-only")) out = trackHtmlLinks(out, (url) => urls.clickUrl(messageId, "html", url));
  if (kind === "text" && (links === "html-and-text" || links === "text-only")) out = trackTextLinks(out, (url) => urls.clickUrl(messageId, "text", url));
  if (kind === "html" && opens) out = addOpenPixel(out, urls.openUrl(messageId));
  return out;
}
