// The dashboard's "Streams and tokens" calls (issue 13): the workspace's message streams (Postmark's
// stream rules hold in the streams service, whatever is sent here), new credentials made by the
// same services as `posthorn token create` (only hashes are stored, so a secret is in this one
// answer and never again), and the sandbox/live switch, which the session's workspace list
// (GET /api/app/session) reads from the same row.
import type { FastifyInstance } from "fastify";
import type { Stream, StreamsService, StreamType as DomainStreamType } from "../../workspaces/streams.service.js";
import type { Workspace, WorkspacesService } from "../../workspaces/workspaces.service.js";
import { WorkspaceNotFound } from "../../workspaces/workspaces.errors.js";
import { readInput } from "./dashboard.input.js";
import { requireWorkspace } from "./dashboard.family.js";
import {
  CredentialCreateBody,
  SandboxBody,
  StreamCreateBody,
  StreamEditBody,
  StreamParams,
  TokenParams,
  WorkspaceParams,
  type CredentialAnswer,
  type CredentialKind,
  type CredentialValue,
  type SandboxAnswer,
  type SettingsAnswer,
  type StreamType,
  type StreamView,
  type TokenRevokeAnswer,
  type TokenView,
} from "./settings.contract.js";

export interface SettingsRoutesDeps {
  workspaces: Pick<WorkspacesService, "findById" | "update" | "tokens" | "createServerToken" | "createTrackCredentials" | "createAppKey" | "revokeToken">;
  streams: Pick<StreamsService, "list" | "create" | "edit" | "archive" | "unarchive">;
}

/** Our words (DESIGN.md) to the streams service's stored types, which are Postmark's. */
const DOMAIN_TYPE: Record<StreamType, DomainStreamType> = { transactional: "Transactional", broadcast: "Broadcasts", inbound: "Inbound" };
const OUR_TYPE: Record<DomainStreamType, StreamType> = { Transactional: "transactional", Broadcasts: "broadcast", Inbound: "inbound" };

export function settingsRoutes(deps: SettingsRoutesDeps) {
  const workspaceOf = async (id: string): Promise<Workspace> => {
    const workspace = await deps.workspaces.findById(id);
    if (!workspace) throw WorkspaceNotFound();
    return workspace;
  };

  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/workspaces/:workspaceId/settings", async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const workspace = await workspaceOf(workspaceId);
      const streams = await deps.streams.list(workspaceId, { type: null, includeArchived: true });
      // Account tokens have no workspace, so none is listed here.
      const tokens = (await deps.workspaces.tokens(workspaceId)).flatMap((t) => (t.kind === "account" ? [] : [tokenView({ ...t, kind: t.kind })]));
      const answer: SettingsAnswer = { workspace: summaryOf(workspace), streams: streams.map(viewOf), tokens };
      return answer;
    });

    app.post("/workspaces/:workspaceId/streams", async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(StreamCreateBody, request.body, "stream");
      const stream = await deps.streams.create(workspaceId, {
        id: body.id,
        name: body.name,
        type: DOMAIN_TYPE[body.type],
        description: body.description ?? null,
        ...(body.trackOpens !== undefined ? { trackOpens: body.trackOpens } : {}),
        ...(body.trackLinks !== undefined ? { trackLinks: body.trackLinks } : {}),
      });
      return viewOf(stream);
    });

    // Postmark's PATCH /message-streams/{id}, archive and unarchive, through the same service: its
    // rules hold (default streams stay, an archived stream is not edited, ID and type never change).
    app.patch("/workspaces/:workspaceId/streams/:streamId", async (request) => {
      const { workspaceId, streamId } = readInput(StreamParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(StreamEditBody, request.body, "stream edit");
      const stream = await deps.streams.edit(workspaceId, streamId, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.trackOpens !== undefined ? { trackOpens: body.trackOpens } : {}),
        ...(body.trackLinks !== undefined ? { trackLinks: body.trackLinks } : {}),
      });
      return viewOf(stream);
    });

    for (const action of ["archive", "unarchive"] as const) {
      app.post(`/workspaces/:workspaceId/streams/:streamId/${action}`, async (request) => {
        const { workspaceId, streamId } = readInput(StreamParams, request.params, "address");
        requireWorkspace(request, workspaceId, "change");
        return viewOf(await deps.streams[action](workspaceId, streamId));
      });
    }

    // Revocation takes effect at once in this process (the service empties its token cache); the
    // last server token is refused (TOKEN_LAST_SERVER, 409): see WorkspacesService.revokeToken.
    app.delete("/workspaces/:workspaceId/tokens/:tokenId", async (request): Promise<TokenRevokeAnswer> => {
      const { workspaceId, tokenId } = readInput(TokenParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const revoked = await deps.workspaces.revokeToken(workspaceId, tokenId);
      if (revoked.kind === "account") throw new Error("an account token has no workspace");
      return { revoked: tokenView({ ...revoked, kind: revoked.kind }) };
    });

    app.post("/workspaces/:workspaceId/credentials", async (request, reply) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const { kind } = readInput(CredentialCreateBody, request.body, "credentials");
      // The token services name workspaces as the CLI does; the id was checked against the session.
      const { name } = await workspaceOf(workspaceId);
      const answer: CredentialAnswer = { kind, values: await createCredentials(deps.workspaces, name, kind) };
      // The secrets are in this answer only: no cache between here and the browser may keep it.
      reply.header("cache-control", "no-store");
      return answer;
    });

    app.put("/workspaces/:workspaceId/sandbox", async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const { sandbox } = readInput(SandboxBody, request.body, "sandbox switch");
      const answer: SandboxAnswer = { workspace: summaryOf(await deps.workspaces.update(workspaceId, { sandbox })) };
      return answer;
    });
  };
}

async function createCredentials(workspaces: SettingsRoutesDeps["workspaces"], name: string, kind: CredentialKind): Promise<CredentialValue[]> {
  switch (kind) {
    case "server":
      return [{ label: "Server token (X-Postmark-Server-Token)", value: await workspaces.createServerToken(name), secret: true }];
    case "track": {
      const c = await workspaces.createTrackCredentials(name);
      return [
        { label: "Track API site id (Basic username)", value: c.siteId, secret: false },
        { label: "Track API key (Basic password)", value: c.apiKey, secret: true },
        { label: "Pipeline write key (Segment spec, Basic username)", value: c.writeKey, secret: true },
        { label: "App API key (Bearer)", value: c.appKey, secret: true },
      ];
    }
    case "app":
      return [{ label: "App API key (Bearer)", value: await workspaces.createAppKey(name), secret: true }];
    default: {
      const never: never = kind;
      throw new Error(`unknown credential kind ${String(never)}`);
    }
  }
}

function summaryOf(w: Workspace): SettingsAnswer["workspace"] {
  return { id: w.id, name: w.name, sandbox: w.sandbox };
}

function tokenView(t: TokenView): TokenView {
  return { id: t.id, kind: t.kind, hint: t.hint, createdAt: t.createdAt, stream: t.stream };
}

function viewOf(s: Stream): StreamView {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    type: OUR_TYPE[s.type],
    unsubscribeHandling: s.unsubscribeHandling,
    trackOpens: s.trackOpens,
    trackLinks: s.trackLinks,
    createdAt: s.createdAt,
    archivedAt: s.archivedAt,
  };
}
