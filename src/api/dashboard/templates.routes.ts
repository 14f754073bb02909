// The dashboard's template calls (issue 13): the workspace's templates and layouts listed, read,
// created, edited and deleted through the templates domain (the same rules as Postmark's
// /templates), a preview that is the domain's validate call (every syntax error with its line,
// each part rendered with the user's test model by the renderer that sending uses), and a test
// send of the saved template that goes through the one acceptance, as POST /email/withTemplate
// does, so the test shows in activity like any message.
import type { FastifyInstance } from "fastify";
import { isPosthornError } from "../../shared/errors.js";
import type { AcceptService } from "../../messages/accept/accept.service.js";
import { structuredSubmission } from "../../messages/accept/submission.js";
import { validateMessage } from "../../messages/message.validation.js";
import type { Template, TemplatesService } from "../../templates/templates.service.js";
import type { WorkspacesService } from "../../workspaces/workspaces.service.js";
import { WorkspaceNotFound } from "../../workspaces/workspaces.errors.js";
import { readInput } from "./dashboard.input.js";
import { requireWorkspace } from "./dashboard.family.js";
import { WorkspaceParams } from "./settings.contract.js";
import {
  TemplateCreateBody,
  TemplateEditBody,
  TemplateParams,
  TemplatePreviewBody,
  TemplatesQuery,
  TemplateTestBody,
  type TemplateDetail,
  type TemplatePreviewAnswer,
  type TemplatesAnswer,
  type TemplateSummary,
  type TemplateTestAnswer,
} from "./templates.contract.js";

export interface TemplatesRoutesDeps {
  templates: TemplatesService;
  accept: Pick<AcceptService, "acceptOne">;
  workspaces: Pick<WorkspacesService, "findById">;
}

/** Two bodies of up to 5 MB each (template.rules.ts) and the rest of the form. */
const TEMPLATE_BODY_LIMIT = 11 * 1024 * 1024;
/** A workspace holds at most 100 templates (TEMPLATE_LIMITS): one page lists them all. */
const LIST_COUNT = 100;

export function templatesRoutes(deps: TemplatesRoutesDeps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/workspaces/:workspaceId/templates", async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const query = readInput(TemplatesQuery, request.query, "query");
      const { templates, total } = await deps.templates.list(workspaceId, { kind: query.kind ?? null, layoutAlias: null }, { count: LIST_COUNT, offset: 0 });
      const answer: TemplatesAnswer = { templates: templates.map(summaryOf), total };
      return answer;
    });

    app.post("/workspaces/:workspaceId/templates", { bodyLimit: TEMPLATE_BODY_LIMIT }, async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(TemplateCreateBody, request.body, "template");
      return detailOf(await deps.templates.create(workspaceId, body));
    });

    // Before the :templateId routes' siblings: "preview" is no id, and the id schema refuses it anyway.
    app.post("/workspaces/:workspaceId/templates/preview", { bodyLimit: TEMPLATE_BODY_LIMIT }, async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      // Rendering changes nothing: a viewer may look at a template as it would be sent.
      requireWorkspace(request, workspaceId, "read");
      const body = readInput(TemplatePreviewBody, request.body, "preview");
      const report = await deps.templates.validate(workspaceId, {
        kind: body.kind,
        subject: body.kind === "layout" ? null : body.subject,
        htmlBody: body.htmlBody,
        textBody: body.textBody,
        layoutAlias: body.kind === "layout" ? null : body.layoutAlias || null,
        testModel: body.testModel,
        inlineCss: body.inlineCss,
      });
      const answer: TemplatePreviewAnswer = report;
      return answer;
    });

    app.get("/workspaces/:workspaceId/templates/:templateId", async (request) => {
      const { workspaceId, templateId } = readInput(TemplateParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      return detailOf(await deps.templates.get(workspaceId, { id: templateId }));
    });

    app.put("/workspaces/:workspaceId/templates/:templateId", { bodyLimit: TEMPLATE_BODY_LIMIT }, async (request) => {
      const { workspaceId, templateId } = readInput(TemplateParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(TemplateEditBody, request.body, "template");
      return detailOf(await deps.templates.edit(workspaceId, { id: templateId }, body));
    });

    app.delete("/workspaces/:workspaceId/templates/:templateId", async (request, reply) => {
      const { workspaceId, templateId } = readInput(TemplateParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      await deps.templates.delete(workspaceId, { id: templateId });
      return reply.code(204).send();
    });

    app.post("/workspaces/:workspaceId/templates/:templateId/test", async (request) => {
      const { workspaceId, templateId } = readInput(TemplateParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(TemplateTestBody, request.body, "test send");
      const workspace = await deps.workspaces.findById(workspaceId);
      if (!workspace) throw WorkspaceNotFound();
      const [content] = await deps.templates.renderForSending(workspaceId, [{ ref: { id: templateId }, model: body.testModel ?? {}, inlineCss: true }]);
      if (!content || isPosthornError(content)) throw content;
      const message = validateMessage({
        from: body.from,
        to: body.to,
        cc: null,
        bcc: null,
        replyTo: null,
        subject: content.subject,
        htmlBody: content.htmlBody,
        textBody: content.textBody,
        tag: null,
        headers: [],
        attachments: [],
        metadata: {},
        stream: body.stream ?? null,
        trackOpens: false,
        trackLinks: "none",
      });
      const accepted = await deps.accept.acceptOne(workspace, structuredSubmission(message));
      const answer: TemplateTestAnswer = { messageId: accepted.messageId, submittedAt: accepted.submittedAt, to: accepted.to.map((a) => a.email), suppressed: accepted.suppressed };
      return answer;
    });
  };
}

function summaryOf(t: Template): TemplateSummary {
  return { id: t.id, name: t.name, alias: t.alias, kind: t.kind, layoutAlias: t.layoutAlias, updatedAt: t.updatedAt };
}

function detailOf(t: Template): TemplateDetail {
  return { ...summaryOf(t), subject: t.subject, htmlBody: t.htmlBody, textBody: t.textBody };
}
