// A workspace's settings beyond its name and sandbox switch: the ones Postmark's Server object
// carries (migration 011), in Posthorn's words. Who reads them: the SMTP submission edge
// (smtpEnabled), inbound intake (inboundSpamThreshold) and its webhook (rawEmailEnabled), tracking
// (trackOpens, trackLinks as defaults) and the webhooks (postFirstOpenOnly,
// includeBounceContentInHook, smtpErrorHooks).
import type { LinkTracking } from "../messages/message.types.js";
import { WorkspaceColorInvalid, WorkspaceSettingInvalid } from "./workspaces.errors.js";

/** Postmark's server colours, spelled as Postmark spells them ("turqoise" included). */
export const WORKSPACE_COLORS = ["purple", "blue", "turqoise", "green", "red", "yellow", "grey"] as const;
export type WorkspaceColor = (typeof WORKSPACE_COLORS)[number];

const LINK_TRACKING: readonly LinkTracking[] = ["none", "html-and-text", "html-only", "text-only"];

/**
 * The highest spam threshold accepted. Postmark's own scale is SpamAssassin's (its dashboard offers
 * up to 30); scores here come from authentication results only and stay under 5 (spam-headers.ts),
 * so a larger threshold would only ever mean "off".
 */
export const MAX_SPAM_THRESHOLD = 30;

export interface WorkspaceSettings {
  color: WorkspaceColor;
  /** SMTP submission with this workspace's tokens is allowed. */
  smtpEnabled: boolean;
  /** Inbound webhook payloads carry the raw message. */
  rawEmailEnabled: boolean;
  /** Inbound mail scoring above this is blocked; 0 turns the check off. */
  inboundSpamThreshold: number;
  trackOpens: boolean;
  trackLinks: LinkTracking;
  postFirstOpenOnly: boolean;
  includeBounceContentInHook: boolean;
  /** SMTP submission errors are reported to the bounce webhook. */
  smtpErrorHooks: boolean;
}

/** What a change may set: any setting, the name and the sandbox switch; undefined leaves one as it is. */
export type WorkspaceChange = Partial<WorkspaceSettings> & { name?: string; sandbox?: boolean };

/** The settings of a workspace nobody has changed (the column defaults of migration 011). */
export const DEFAULT_SETTINGS: WorkspaceSettings = {
  color: "purple",
  smtpEnabled: true,
  rawEmailEnabled: false,
  inboundSpamThreshold: 0,
  trackOpens: false,
  trackLinks: "none",
  postFirstOpenOnly: false,
  includeBounceContentInHook: false,
  smtpErrorHooks: false,
};

/** Checks the values of a change (types are the caller's); throws a coded error naming the field. */
export function checkChange(change: WorkspaceChange): void {
  if (change.color !== undefined && !(WORKSPACE_COLORS as readonly string[]).includes(change.color)) {
    throw WorkspaceColorInvalid(`'${String(change.color)}' is not a server color; use one of ${WORKSPACE_COLORS.join(", ")}.`);
  }
  const threshold = change.inboundSpamThreshold;
  if (threshold !== undefined && !(Number.isInteger(threshold) && threshold >= 0 && threshold <= MAX_SPAM_THRESHOLD)) {
    throw WorkspaceSettingInvalid(`The inbound spam threshold must be a whole number from 0 to ${MAX_SPAM_THRESHOLD}; got ${String(threshold)}.`);
  }
  if (change.trackLinks !== undefined && !LINK_TRACKING.includes(change.trackLinks)) {
    throw WorkspaceSettingInvalid(`'${String(change.trackLinks)}' is not a link tracking setting.`);
  }
}
