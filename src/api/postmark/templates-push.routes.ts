// PUT /templates/push (account token): copies a server's templates to another server, matched by
// alias. Servers are workspaces, named by the IDs GET /server shows.
import type { FastifyInstance } from "fastify";
import type { TemplatesService } from "../../templates/templates.service.js";
import type { WorkspacesService } from "../../workspaces/workspaces.service.js";
import { TemplateFieldInvalid, TemplatePushServerNotFound } from "../../templates/templates.errors.js";
import { postmarkServerId } from "./server.routes.js";
import { objectBody } from "./template.mapper.js";

export interface TemplatesPushDeps {
  templates: TemplatesService;
  workspaces: WorkspacesService;
}

/** The plugin for accountPlugin's `routes` (HttpServerDeps.accountRoutes). */
export function templatesPushRoutes(deps: TemplatesPushDeps): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    app.put("/templates/push", async (request) => {
      const body = objectBody(request.body);
      const sourceId = serverId(body.SourceServerID, "SourceServerID");
      const destinationId = serverId(body.DestinationServerID, "DestinationServerID");
      const perform = body.PerformChanges;
      if (typeof perform !== "boolean") throw TemplateFieldInvalid("'PerformChanges' must be true or false.");
      const workspaces = await deps.workspaces.list();
      const find = (id: number) => workspaces.find((w) => postmarkServerId(w.id) === id);
      const source = find(sourceId);
      const destination = find(destinationId);
      if (!source || !destination) throw TemplatePushServerNotFound(`The ${source ? "destination" : "source"} server was not found.`);
      if (source.id === destination.id) throw TemplateFieldInvalid("The source and destination servers must differ.");
      const pushed = await deps.templates.push(source.id, destination.id, perform);
      return {
        TotalCount: pushed.length,
        Templates: pushed.map((p) => ({ Action: p.action === "create" ? "Create" : "Edit", TemplateId: p.templateId ?? undefined, Alias: p.alias, Name: p.name })),
      };
    });
  };
}

function serverId(value: unknown, field: string): number {
  const n = typeof value === "string" && /^\d{1,10}$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) throw TemplateFieldInvalid(`'${field}' must be a server ID (a positive whole number).`);
  return n;
}
