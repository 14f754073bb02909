// The content of a mail to a person, rendered: Liquid fields (subject, bodies, from, to, reply-to,
// headers) with `customer` (the person's attributes plus id, email and cio_id) beside the caller's
// scope, or a stored Postmark-style template whose model's string values are rendered with Liquid
// first. Errors are values: the mail fails alone with the coded error.
import type { PosthornError } from "../../shared/errors.js";
import { isPosthornError } from "../../shared/errors.js";
import type { LiquidRenderer, LiquidScope } from "../../templates/liquid/liquid.renderer.js";
import type { TemplatesService } from "../../templates/templates.service.js";
import type { Person } from "../../people/people.port.js";
import type { EmailContent } from "../../journeys/journey.model.js";

export interface RenderedMail {
  from: string | null;
  to: string | null;
  replyTo: string | null;
  subject: string;
  html: string | null;
  text: string | null;
  headers: Record<string, string>;
}

/** Nesting of a template model rendered value by value; deeper models are refused, not walked. */
const MOST_MODEL_DEPTH = 10;

export function scopeOf(person: Person, scope: LiquidScope): LiquidScope {
  return { ...scope, customer: { ...person.attributes, id: person.id, email: person.email, cio_id: person.personId } };
}

export async function renderContent(
  deps: { renderer: LiquidRenderer; templates: Pick<TemplatesService, "renderForSending"> },
  workspaceId: string,
  content: EmailContent,
  scope: LiquidScope,
): Promise<RenderedMail | PosthornError> {
  const r = (text: string | null) => (text === null ? Promise.resolve(null) : deps.renderer.render(text, scope));
  try {
    if (content.kind === "liquid") {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(content.headers)) headers[name] = await deps.renderer.render(value, scope);
      return { from: await r(content.from), to: await r(content.to), replyTo: await r(content.replyTo), subject: await deps.renderer.render(content.subject, scope), html: await r(content.html), text: await r(content.text), headers };
    }
    const model = await renderModel(deps.renderer, content.model, scope, 0);
    const ref = /^[1-9][0-9]{0,15}$/.test(content.template) ? { id: Number(content.template) } : { alias: content.template };
    const [rendered] = await deps.templates.renderForSending(workspaceId, [{ ref, model, inlineCss: true }]);
    if (!rendered || isPosthornError(rendered)) return rendered as PosthornError;
    return { from: await r(content.from), to: await r(content.to), replyTo: null, subject: rendered.subject, html: rendered.htmlBody, text: rendered.textBody, headers: {} };
  } catch (err) {
    if (isPosthornError(err)) return err;
    throw err;
  }
}

async function renderModel(renderer: LiquidRenderer, value: unknown, scope: LiquidScope, depth: number): Promise<unknown> {
  if (depth > MOST_MODEL_DEPTH) return null;
  if (typeof value === "string") return value.includes("{") ? renderer.render(value, scope) : value;
  if (Array.isArray(value)) return Promise.all(value.map((v) => renderModel(renderer, v, scope, depth + 1)));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await renderModel(renderer, v, scope, depth + 1);
    return out;
  }
  return value;
}
