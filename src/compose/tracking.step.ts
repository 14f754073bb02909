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
// A message that will be delivered to one recipient gets its pixel and links here, in the MIME
// that is stored, with tokens naming the message (a read is that recipient's). One delivered to
// several is stored once and signed once for all of them, so a token in it could not say whose
// read it was: for such a message this step only decides and counts, records the tracking as owed
// per delivery (src/messages/per-delivery.ts), and the MTA makes each recipient's copy with
// tokens naming that delivery (src/compose/per-delivery.compose.ts) before signing it. Sandboxed
// mail is never delivered, so it is always tracked here, for the captured copy to show.
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
        const urls: TrackingUrls = { openUrl: () => deps.tracking.openUrl(c.id), clickUrl: (where, url) => (rewritten++, deps.tracking.clickUrl(c.id, where, url)) };
        const rewrittenMime = rewriteTextParts(c.mime!, (body, kind) => trackBody(body, kind, opens, links, urls));
        c.trackedLinks = rewritten;
        if (deliveredToSeveral(c)) c.perDelivery = { ...(c.perDelivery ?? { unsubscribe: false }), opens, links };
        else c.mime = rewrittenMime;
      }
    },
  };
}

/** The URLs of one copy: the message's (one recipient), or one delivery's. */
export interface TrackingUrls {
  openUrl(): string;
  clickUrl(location: "html" | "text", url: string): string;
}

/** One text part with its links rewritten and, in HTML, the open pixel added, as asked. */
export function trackBody(body: string, kind: TextKind, opens: boolean, links: LinkTracking, urls: TrackingUrls): string {
  let out = body;
  if (kind === "html" && (links === "html-and-text" || links === "html-only")) out = trackHtmlLinks(out, (url) => urls.clickUrl("html", url));
  if (kind === "text" && (links === "html-and-text" || links === "text-only")) out = trackTextLinks(out, (url) => urls.clickUrl("text", url));
  if (kind === "html" && opens) out = addOpenPixel(out, urls.openUrl());
  return out;
}

/** Whether the message will be attempted for more than one recipient (suppressed ones never are). */
export function deliveredToSeveral(c: Candidate): boolean {
  if (c.workspace.sandbox) return false;
  let live = 0;
  for (const r of c.recipients) if (!r.suppressed && ++live > 1) return true;
  return false;
}
