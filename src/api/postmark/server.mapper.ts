// A workspace as Postmark's Server object, and a Server object (PUT /server, POST and PUT
// /servers) as a change of workspace in Posthorn's words. Both the server API (GET/PUT /server)
// and the account API (/servers) use these, so the two answer the same shape.
import { createHash } from "node:crypto";
import type { InboundSettings, Workspace, WorkspaceChange, WorkspaceSettings } from "../../workspaces/workspaces.service.js";
import { linkTrackingOf, trackLinksOf, TRACK_LINKS } from "./postmark-words.js";
import { InvalidRequest } from "./postmark.edge-errors.js";

/**
 * Postmark's Server ID is a number, and typed clients (Go, .NET, Java) fail to read a string, so
 * the workspace's UUID is mapped to a stable number in 1..2^31-1 (a 32-bit signed int).
 */
export function postmarkServerId(workspaceId: string): number {
  const digest = createHash("sha256").update(workspaceId).digest();
  return (digest.readUInt32BE(0) % 0x7fff_ffff) + 1;
}

export type ServerInbound = InboundSettings & { inboundAddress: string; inboundDomainVerified: boolean };

/**
 * The legacy per-server webhook URLs (BounceHookUrl, OpenHookUrl, DeliveryHookUrl, ClickHookUrl).
 * They are not workspace settings: they are webhooks of the outbound stream (server-hooks.ts).
 */
export interface LegacyHookUrls {
  BounceHookUrl: string;
  OpenHookUrl: string;
  DeliveryHookUrl: string;
  ClickHookUrl: string;
}

/** What the mapper needs to draw a Server. */
export interface ServerView {
  workspace: Workspace;
  settings: WorkspaceSettings;
  inbound: ServerInbound;
  hooks: LegacyHookUrls;
  /** Tokens to show: the first one, once, when the server was just created; otherwise none (they are stored hashed). */
  apiTokens?: string[];
}

export function toServer(view: ServerView) {
  const { workspace, settings, inbound, hooks } = view;
  return {
    ID: postmarkServerId(workspace.id),
    Name: workspace.name,
    ApiTokens: view.apiTokens ?? [],
    // Postmark links to its web app; Posthorn has no page per server yet.
    ServerLink: "",
    Color: settings.color,
    SmtpApiActivated: settings.smtpEnabled,
    RawEmailEnabled: settings.rawEmailEnabled,
    DeliveryType: workspace.sandbox ? "Sandbox" : "Live",
    InboundAddress: inbound.inboundAddress,
    InboundHookUrl: inbound.inboundHookUrl ?? "",
    BounceHookUrl: hooks.BounceHookUrl,
    OpenHookUrl: hooks.OpenHookUrl,
    DeliveryHookUrl: hooks.DeliveryHookUrl,
    ClickHookUrl: hooks.ClickHookUrl,
    PostFirstOpenOnly: settings.postFirstOpenOnly,
    InboundDomain: inbound.inboundDomain ?? "",
    // Not in Postmark's Server: whether DNS proves the workspace controls InboundDomain (an MX
    // naming this server, or a TXT record posthorn-inbound-verification=<InboundHash>); until it
    // does, mail to the domain is refused (docs/api.md).
    InboundDomainVerified: inbound.inboundDomainVerified,
    InboundHash: inbound.inboundHash,
    InboundSpamThreshold: settings.inboundSpamThreshold,
    TrackOpens: settings.trackOpens,
    TrackLinks: trackLinksOf(settings.trackLinks),
    IncludeBounceContentInHook: settings.includeBounceContentInHook,
    EnableSmtpApiErrorHooks: settings.smtpErrorHooks,
  };
}

/** A Server object's changes: the workspace's, and the inbound settings (validated by the inbound service). */
export interface ServerChange {
  workspace: WorkspaceChange;
  inbound: { inboundHookUrl?: unknown; inboundDomain?: unknown };
}

/** Boolean fields of the Server object and the setting each sets. */
const FLAGS = {
  SmtpApiActivated: "smtpEnabled",
  RawEmailEnabled: "rawEmailEnabled",
  TrackOpens: "trackOpens",
  PostFirstOpenOnly: "postFirstOpenOnly",
  IncludeBounceContentInHook: "includeBounceContentInHook",
  EnableSmtpApiErrorHooks: "smtpErrorHooks",
} as const satisfies Record<string, keyof WorkspaceSettings>;

/**
 * Reads a Server object sent to PUT /server, POST /servers or PUT /servers/{id}. A field left out
 * or null is kept; a field of the wrong type is refused (422 / 300) rather than guessed at.
 * Read-only fields (ID, ApiTokens, ServerLink, InboundAddress, InboundHash) and unknown ones are
 * ignored, as Postmark does, so a Server from GET can be sent back as it came.
 */
export function parseServerChange(body: unknown): ServerChange {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw InvalidRequest("The request body must be a JSON object of server settings.");
  const input = body as Record<string, unknown>;
  const change: WorkspaceChange = {};
  const given = (key: string) => input[key] !== undefined && input[key] !== null;

  if (given("Name")) {
    if (typeof input.Name !== "string") throw InvalidRequest("'Name' must be a string.");
    change.name = input.Name;
  }
  if (given("Color")) {
    if (typeof input.Color !== "string") throw InvalidRequest("'Color' must be a string.");
    change.color = input.Color.toLowerCase() as WorkspaceSettings["color"];
  }
  for (const [field, setting] of Object.entries(FLAGS)) {
    if (!given(field)) continue;
    if (typeof input[field] !== "boolean") throw InvalidRequest(`'${field}' must be true or false.`);
    change[setting] = input[field];
  }
  if (given("InboundSpamThreshold")) {
    if (typeof input.InboundSpamThreshold !== "number") throw InvalidRequest("'InboundSpamThreshold' must be a number.");
    change.inboundSpamThreshold = input.InboundSpamThreshold;
  }
  if (given("TrackLinks")) {
    const value = typeof input.TrackLinks === "string" ? TRACK_LINKS.find((t) => t.toLowerCase() === (input.TrackLinks as string).toLowerCase()) : undefined;
    if (!value) throw InvalidRequest(`'TrackLinks' must be one of ${TRACK_LINKS.join(", ")}.`);
    change.trackLinks = linkTrackingOf(value);
  }
  if (given("DeliveryType")) {
    const value = typeof input.DeliveryType === "string" ? input.DeliveryType.toLowerCase() : "";
    if (value !== "live" && value !== "sandbox") throw InvalidRequest("'DeliveryType' must be Live or Sandbox.");
    change.sandbox = value === "sandbox";
  }
  return { workspace: change, inbound: { inboundHookUrl: input.InboundHookUrl, inboundDomain: input.InboundDomain } };
}
