// GET /server and PUT /server: the token's workspace as Postmark's Server object. Posthorn stores
// the inbound settings (InboundHookUrl, InboundDomain); every other Server setting has one fixed
// value here, which a PUT may repeat but not change, so that a client never believes it changed
// something that Posthorn ignored.
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { InboundSettings, Workspace } from "../../workspaces/workspaces.service.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { requireWorkspace } from "./query-params.js";
import { SERVER_HOOK_FIELDS, prepareServerHooks, serverHooks } from "./server-hooks.js";

/** Settings Postmark lets a PUT /server change that Posthorn does not have: their one value. */
const FIXED: Record<string, string | number | boolean> = {
  Color: "blue",
  SmtpApiActivated: true,
  RawEmailEnabled: false,
  BounceHookUrl: "",
  OpenHookUrl: "",
  DeliveryHookUrl: "",
  ClickHookUrl: "",
  PostFirstOpenOnly: false,
  InboundSpamThreshold: 0,
  TrackOpens: false,
  TrackLinks: "None",
  IncludeBounceContentInHook: false,
  EnableSmtpApiErrorHooks: false,
};

export async function serverRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.get("/server", async (request) => {
    const workspace = await current(deps, requireWorkspace(request));
    return { ...toServer(workspace, await deps.inbound.settings(workspace.id)), ...(await serverHooks(deps.webhooks, workspace.id)) };
  });

  app.put("/server", async (request) => {
    const workspace = await current(deps, requireWorkspace(request));
    const body = request.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw InvalidRequest("The request body must be a JSON object of server settings.");
    const input = body as Record<string, unknown>;
    if (input.Name !== undefined && input.Name !== null && input.Name !== workspace.name) {
      throw InvalidRequest(`Workspaces cannot be renamed through the API; 'Name' must be '${workspace.name}' or left out.`);
    }
    const refused = Object.keys(FIXED).filter((key) => !SERVER_HOOK_FIELDS.includes(key) && !sameValue(input[key], FIXED[key]!));
    if (refused.length > 0) {
      const list = refused.map((key) => `${key} (always ${JSON.stringify(FIXED[key])})`).join(", ");
      throw InvalidRequest(`These server settings cannot be changed in Posthorn: ${list}.`);
    }
    // Read-only fields (ID, ApiTokens, ServerLink, DeliveryType, InboundAddress, InboundHash) and
    // unknown ones are ignored, as Postmark does, so a Server object can be sent back as it came.
    const applyHooks = prepareServerHooks(deps.webhooks, workspace.id, input);
    const settings = await deps.inbound.updateSettings(workspace.id, { inboundHookUrl: input.InboundHookUrl, inboundDomain: input.InboundDomain });
    await applyHooks();
    return { ...toServer(workspace, settings), ...(await serverHooks(deps.webhooks, workspace.id)) };
  });
}

/**
 * Postmark's Server ID is a number, and typed clients (Go, .NET, Java) fail to read a string, so
 * the workspace's UUID is mapped to a stable number in 1..2^31-1 (a 32-bit signed int).
 */
export function postmarkServerId(workspaceId: string): number {
  const digest = createHash("sha256").update(workspaceId).digest();
  return (digest.readUInt32BE(0) % 0x7fff_ffff) + 1;
}

/** The workspace as stored now (the token cache may be a few seconds old, e.g. after a sandbox switch). */
async function current(deps: PostmarkApiDeps, workspace: Workspace): Promise<Workspace> {
  return (await deps.workspaces.findById(workspace.id)) ?? workspace;
}

/** Whether a PUT value leaves a fixed setting as it is: absent, null, or the value itself (strings without regard to case). */
function sameValue(value: unknown, fixed: string | number | boolean): boolean {
  if (value === undefined || value === null) return true;
  if (typeof fixed === "string" && typeof value === "string") return value.toLowerCase() === fixed.toLowerCase();
  return value === fixed;
}

function toServer(workspace: Workspace, inbound: InboundSettings & { inboundAddress: string; inboundDomainVerified: boolean }) {
  return {
    ID: postmarkServerId(workspace.id),
    Name: workspace.name,
    // Tokens are stored as hashes and cannot be shown again.
    ApiTokens: [] as string[],
    ServerLink: "",
    Color: FIXED.Color,
    SmtpApiActivated: FIXED.SmtpApiActivated,
    RawEmailEnabled: FIXED.RawEmailEnabled,
    DeliveryType: workspace.sandbox ? "Sandbox" : "Live",
    InboundAddress: inbound.inboundAddress,
    InboundHookUrl: inbound.inboundHookUrl ?? "",
    BounceHookUrl: FIXED.BounceHookUrl,
    OpenHookUrl: FIXED.OpenHookUrl,
    DeliveryHookUrl: FIXED.DeliveryHookUrl,
    ClickHookUrl: FIXED.ClickHookUrl,
    PostFirstOpenOnly: FIXED.PostFirstOpenOnly,
    InboundDomain: inbound.inboundDomain ?? "",
    // Not in Postmark's Server: whether DNS proves the workspace controls InboundDomain (an MX
    // naming this server, or a TXT record posthorn-inbound-verification=<InboundHash>); until it
    // does, mail to the domain is refused (docs/api.md).
    InboundDomainVerified: inbound.inboundDomainVerified,
    InboundHash: inbound.inboundHash,
    InboundSpamThreshold: FIXED.InboundSpamThreshold,
    TrackOpens: FIXED.TrackOpens,
    TrackLinks: FIXED.TrackLinks,
    IncludeBounceContentInHook: FIXED.IncludeBounceContentInHook,
    EnableSmtpApiErrorHooks: FIXED.EnableSmtpApiErrorHooks,
  };
}
