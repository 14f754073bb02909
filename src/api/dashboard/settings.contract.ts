// What the dashboard's "Streams and tokens" calls take and answer (issue 13): the workspace with its
// message streams, a new stream, new credentials (each secret answered once, never again: only
// hashes are stored), and the sandbox/live switch. The web dashboard imports these types through
// "@contract/settings.contract".
import { z } from "zod";

export const WorkspaceParams = z.object({ workspaceId: z.string().min(1) });

export const StreamType = z.enum(["transactional", "broadcast", "inbound"]);
export type StreamType = z.infer<typeof StreamType>;

export const LinkTracking = z.enum(["none", "html-and-text", "html-only", "text-only"]);
export type LinkTracking = z.infer<typeof LinkTracking>;

export interface StreamView {
  id: string;
  name: string;
  description: string | null;
  type: StreamType;
  /** none, posthorn (our link, header and page) or custom (the sender's own). */
  unsubscribeHandling: "none" | "posthorn" | "custom";
  /** null: follows the workspace's setting. */
  trackOpens: boolean | null;
  trackLinks: LinkTracking | null;
  createdAt: number;
  /** Set when archived: the stream refuses mail. */
  archivedAt: number | null;
}

/** A token or key as it can be shown after it was made: never its secret. */
export interface TokenView {
  id: string;
  kind: "server" | "smtp" | "track" | "pipeline" | "app";
  /** Its last four characters (a Track pair's: its site id's; an SMTP pair's: its access key's). */
  hint: string;
  createdAt: number;
  /** SMTP token pairs: the one stream they send to. */
  stream: string | null;
}

export interface SettingsAnswer {
  workspace: { id: string; name: string; sandbox: boolean };
  streams: StreamView[];
  tokens: TokenView[];
}

export const StreamCreateBody = z.object({
  /** 1–30 lower-case letters, digits, '-' and '_' (the domain checks it). */
  id: z.string().max(30),
  name: z.string().max(100),
  type: StreamType,
  description: z.string().max(1_000).nullable().optional(),
  trackOpens: z.boolean().nullable().optional(),
  trackLinks: LinkTracking.nullable().optional(),
});
export type StreamCreateBody = z.infer<typeof StreamCreateBody>;

export const StreamParams = WorkspaceParams.extend({ streamId: z.string().min(1).max(30) });

/** A stream's edit: fields left out stay; ID and type never change (Postmark's rule). */
export const StreamEditBody = z
  .object({
    name: z.string().max(100).optional(),
    description: z.string().max(1_000).nullable().optional(),
    trackOpens: z.boolean().nullable().optional(),
    trackLinks: LinkTracking.nullable().optional(),
  })
  .strict();
export type StreamEditBody = z.infer<typeof StreamEditBody>;

export const TokenParams = WorkspaceParams.extend({ tokenId: z.string().min(1).max(100) });

/** DELETE .../tokens/{id}: the token that was revoked, as it was listed. */
export interface TokenRevokeAnswer {
  revoked: TokenView;
}

/**
 * server: a Postmark API server token. track: a Track API pair (site id + API key) with a pipeline
 * write key and an App API key, as `posthorn token create --track` makes. app: one more App API key.
 */
export const CredentialKind = z.enum(["server", "track", "app"]);
export type CredentialKind = z.infer<typeof CredentialKind>;

export const CredentialCreateBody = z.object({ kind: CredentialKind });
export type CredentialCreateBody = z.infer<typeof CredentialCreateBody>;

export interface CredentialValue {
  /** What it is and where it goes, e.g. "Server token (X-Postmark-Server-Token)". */
  label: string;
  value: string;
  /** Secrets are shown this once; a site id is not secret. */
  secret: boolean;
}

export interface CredentialAnswer {
  kind: CredentialKind;
  values: CredentialValue[];
}

export const SandboxBody = z.object({ sandbox: z.boolean() });
export type SandboxBody = z.infer<typeof SandboxBody>;

export interface SandboxAnswer {
  workspace: { id: string; name: string; sandbox: boolean };
}
