// The renderer bulk sends use (src/bulk/): a stored template rendered as /email/withTemplate
// renders it, or the request's own Subject and bodies rendered as templates with each
// recipient's model (Postmark's bulk API personalises inline content the same way).
import { isPosthornError, type PosthornError } from "../shared/errors.js";
import type { BulkContent, BulkRenderer } from "../bulk/bulk.types.js";
import { parseTemplate } from "./engine/template.parser.js";
import { callBudget } from "./engine/template.renderer.js";
import { renderContent, type CompiledTemplate, type RenderedContent } from "./templated-message.js";
import { TemplateFieldInvalid } from "./templates.errors.js";
import type { TemplateRef, TemplatesService } from "./templates.service.js";

export function bulkRendererOf(templates: TemplatesService): BulkRenderer {
  // The inline content of the send being processed, parsed once for all its chunks.
  let parsed: { key: BulkContent; compiled: CompiledTemplate } | null = null;
  const compiledInline = (content: BulkContent): CompiledTemplate => {
    if (parsed?.key !== content) parsed = { key: content, compiled: compileInline(content) };
    return parsed.compiled;
  };
  return {
    async check(workspaceId, content) {
      if (content.template) {
        const [result] = await templates.renderForSending(workspaceId, [{ ref: refOf(content), model: {}, inlineCss: false }]);
        if (isPosthornError(result)) throw result;
      } else {
        compileInline(content);
      }
    },
    async renderMany(workspaceId, content, models) {
      if (content.template) {
        const ref = refOf(content);
        return templates.renderForSending(workspaceId, models.map((model) => ({ ref, model, inlineCss: content.inlineCss })));
      }
      const template = compiledInline(content);
      const budget = callBudget();
      return models.map((model): RenderedContent | PosthornError => {
        try {
          return renderContent({ template, layout: null, model, inlineCss: content.inlineCss, budget });
        } catch (err) {
          if (isPosthornError(err)) return err;
          throw err;
        }
      });
    },
  };
}

function refOf(content: BulkContent): TemplateRef {
  const { id, alias } = content.template!;
  return id !== null ? { id } : { alias: alias! };
}

/** The request's Subject and bodies as templates; a syntax error refuses the request (Postmark's 1122), naming the part, line and position. */
function compileInline(content: BulkContent): CompiledTemplate {
  const part = (name: string, source: string | null) => {
    if (source === null) return null;
    const { nodes, errors } = parseTemplate(source);
    const first = errors[0];
    if (first) throw TemplateFieldInvalid(`${name}: ${first.message} (line ${first.line}, position ${first.character}).`);
    return nodes;
  };
  const { draft } = content;
  return { subject: part("Subject", draft.subject ?? "") ?? [], html: part("HtmlBody", draft.htmlBody), text: part("TextBody", draft.textBody) };
}
