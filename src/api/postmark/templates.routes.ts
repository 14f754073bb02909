// Postmark's Templates API (server token): list, create, get, edit, delete and validate templates
// and layouts. A path's {idOrAlias} is an id when it is all digits, an alias otherwise.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { isPosthornError } from "../../shared/errors.js";
import { TemplateQueryInvalid } from "../../templates/templates.errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { pageParams, requireWorkspace, stringParam, type Query } from "./query-params.js";
import { kindOf, refOf, templateInput, toTemplate, toTemplateSummary, toValidation, validateInput } from "./template.mapper.js";
import { MESSAGE_BODY_BYTES } from "./request-limits.js";

export async function templatesRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  const { templates } = deps;

  app.get("/templates", async (request) => {
    const workspace = requireWorkspace(request);
    const q = request.query as Query;
    const { page, kind } = listParams(q);
    const found = await templates.list(workspace.id, { kind, layoutAlias: stringParam(q, "layouttemplate") ?? null }, page);
    return { TotalCount: found.total, Templates: found.templates.map(toTemplateSummary) };
  });

  app.post("/templates", { bodyLimit: MESSAGE_BODY_BYTES }, async (request) => {
    const workspace = requireWorkspace(request);
    return toTemplate(await templates.create(workspace.id, templateInput(request.body)));
  });

  app.post("/templates/validate", { bodyLimit: MESSAGE_BODY_BYTES }, async (request) => {
    const workspace = requireWorkspace(request);
    return toValidation(await templates.validate(workspace.id, validateInput(request.body)));
  });

  app.get("/templates/:idOrAlias", async (request) => {
    const workspace = requireWorkspace(request);
    return toTemplate(await templates.get(workspace.id, refOf(param(request))));
  });

  app.put("/templates/:idOrAlias", { bodyLimit: MESSAGE_BODY_BYTES }, async (request) => {
    const workspace = requireWorkspace(request);
    return toTemplate(await templates.edit(workspace.id, refOf(param(request)), templateInput(request.body)));
  });

  app.delete("/templates/:idOrAlias", async (request) => {
    const workspace = requireWorkspace(request);
    const removed = await templates.delete(workspace.id, refOf(param(request)));
    return { ErrorCode: 0, Message: `Template ${removed.id} removed.` };
  });
}

function param(request: FastifyRequest): string {
  return (request.params as { idOrAlias: string }).idOrAlias;
}

/** Paging and the type filter; Postmark answers a bad one with 1100. "All" (or none) lists both types. */
function listParams(q: Query) {
  try {
    const type = stringParam(q, "templatetype");
    return { page: pageParams(q), kind: type === undefined || type.toLowerCase() === "all" ? null : (kindOf(type, "templateType") ?? null) };
  } catch (err) {
    if (isPosthornError(err)) throw TemplateQueryInvalid(err.message);
    throw err;
  }
}
