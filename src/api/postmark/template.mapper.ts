// Postmark's template shapes, both ways: request bodies (Template fields, the validate call,
// a TemplatedMessage's template fields) read into Posthorn's words, and templates written out as
// Postmark's Template objects. Only JSON types are checked here; the rules are the domain's.
import type { PartCheck, Template, TemplateInput, TemplateRef, ValidationReport } from "../../templates/templates.service.js";
import type { TemplateKind } from "../../templates/templates.schema.js";
import { TemplateFieldInvalid, TemplateFieldMissing, TemplateFieldNotAllowed, TemplateNoData, TemplateNotFound } from "../../templates/templates.errors.js";
import { postmarkServerId } from "./server.routes.js";

type Json = Record<string, unknown>;

export function objectBody(body: unknown): Json {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw TemplateNoData("No template data received: the body must be a JSON object.");
  return body as Json;
}

/** A string field: undefined when absent, null when null; anything else is refused. */
function optString(o: Json, key: string): string | null | undefined {
  const v = o[key];
  if (v === undefined || v === null) return v;
  if (typeof v !== "string") throw TemplateFieldInvalid(`'${key}' must be a string.`, { field: key });
  return v;
}

export function kindOf(value: string | null | undefined, field = "TemplateType"): TemplateKind | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const lower = value.toLowerCase();
  if (lower === "standard") return "standard";
  if (lower === "layout") return "layout";
  throw TemplateFieldInvalid(`'${field}' must be Standard or Layout.`, { field });
}

export function templateInput(body: unknown): TemplateInput {
  const o = objectBody(body);
  return {
    name: optString(o, "Name"),
    alias: optString(o, "Alias"),
    subject: optString(o, "Subject"),
    htmlBody: optString(o, "HtmlBody"),
    textBody: optString(o, "TextBody"),
    kind: kindOf(optString(o, "TemplateType")),
    layoutAlias: optString(o, "LayoutTemplate"),
  };
}

export function validateInput(body: unknown) {
  const o = objectBody(body);
  const subject = optString(o, "Subject") ?? null;
  const htmlBody = optString(o, "HtmlBody") ?? null;
  const textBody = optString(o, "TextBody") ?? null;
  if (subject === null && htmlBody === null && textBody === null) throw TemplateFieldMissing("Give at least one of 'Subject', 'HtmlBody' and 'TextBody' to validate.");
  const inline = o.InlineCssForHtmlTestRender;
  if (inline !== undefined && inline !== null && typeof inline !== "boolean") throw TemplateFieldInvalid("'InlineCssForHtmlTestRender' must be true or false.");
  return {
    subject,
    htmlBody,
    textBody,
    kind: kindOf(optString(o, "TemplateType")) ?? "standard",
    layoutAlias: optString(o, "LayoutTemplate") || null,
    testModel: modelOf(o, "TestRenderModel"),
    inlineCss: inline ?? true,
  };
}

/** A model is a JSON object; absent or null is an empty model. */
function modelOf(o: Json, key: string): Json | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) throw TemplateFieldInvalid(`'${key}' must be a JSON object.`, { field: key });
  return v as Json;
}

/** The template fields of a TemplatedMessage; the rest of it is an ordinary Message. */
export function templatedFields(body: unknown): { ref: TemplateRef; model: Json; inlineCss: boolean } {
  const o = objectBody(body);
  for (const field of ["Subject", "HtmlBody", "TextBody"]) {
    if (o[field] !== undefined && o[field] !== null) throw TemplateFieldNotAllowed(`'${field}' is not allowed when sending with a template: the template provides it.`, { field });
  }
  const id = o.TemplateId;
  const alias = o.TemplateAlias;
  const hasId = id !== undefined && id !== null;
  const hasAlias = alias !== undefined && alias !== null && alias !== "";
  if (hasId && hasAlias) throw TemplateFieldNotAllowed("Give either 'TemplateId' or 'TemplateAlias', not both.");
  let ref: TemplateRef;
  if (hasId) {
    const n = typeof id === "string" && /^\d{1,15}$/.test(id) ? Number(id) : id;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) throw TemplateFieldInvalid("'TemplateId' must be a positive whole number.");
    ref = { id: n };
  } else if (hasAlias) {
    if (typeof alias !== "string") throw TemplateFieldInvalid("'TemplateAlias' must be a string.");
    ref = { alias };
  } else {
    throw TemplateNotFound("The request specifies neither 'TemplateId' nor 'TemplateAlias'.");
  }
  const inline = o.InlineCss;
  if (inline !== undefined && inline !== null && typeof inline !== "boolean") throw TemplateFieldInvalid("'InlineCss' must be true or false.");
  return { ref, model: modelOf(o, "TemplateModel") ?? {}, inlineCss: inline ?? true };
}

/** `/templates/{idOrAlias}`: digits are an id, anything else an alias. */
export function refOf(idOrAlias: string): TemplateRef {
  if (/^\d{1,15}$/.test(idOrAlias)) return { id: Number(idOrAlias) };
  return { alias: idOrAlias };
}

export function typeWord(kind: TemplateKind): "Standard" | "Layout" {
  return kind === "layout" ? "Layout" : "Standard";
}

export function toTemplateSummary(t: Template) {
  return { Active: t.active, TemplateId: t.id, Name: t.name, Alias: t.alias, TemplateType: typeWord(t.kind), LayoutTemplate: t.layoutAlias };
}

export function toTemplate(t: Template) {
  return {
    TemplateId: t.id,
    Name: t.name,
    Subject: t.kind === "layout" ? null : t.subject,
    HtmlBody: t.htmlBody,
    TextBody: t.textBody,
    AssociatedServerId: postmarkServerId(t.workspaceId),
    Active: t.active,
    Alias: t.alias,
    TemplateType: typeWord(t.kind),
    LayoutTemplate: t.layoutAlias,
  };
}

function toPart(p: PartCheck) {
  return {
    ContentIsValid: p.valid,
    ValidationErrors: p.errors.map((e) => ({ Message: e.message, Line: e.line, CharacterPosition: e.character })),
    RenderedContent: p.rendered ?? "",
  };
}

export function toValidation(r: ValidationReport) {
  return { AllContentIsValid: r.allValid, Subject: toPart(r.subject), HtmlBody: toPart(r.htmlBody), TextBody: toPart(r.textBody), SuggestedTemplateModel: r.suggestedModel };
}
