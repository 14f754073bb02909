// What a template may hold, checked before it is stored: required fields, sizes, alias syntax,
// the layout rules, and that every part parses. Limits follow Postmark where it documents one
// (100 templates per server); the sizes are ours, matched to the message limits a rendered
// template must fit anyway.
import { parseTemplate } from "./engine/template.parser.js";
import type { Node } from "./engine/template.ast.js";
import type { TemplateKind } from "./templates.schema.js";
import {
  LayoutContentMissing,
  TemplateFieldInvalid,
  TemplateFieldMissing,
  TemplateFieldNotAllowed,
  TemplateFieldTooLarge,
} from "./templates.errors.js";

export const TEMPLATE_LIMITS = Object.freeze({
  /** Postmark: "you can create up to 100 templates per server". */
  perWorkspace: 100,
  nameChars: 255,
  aliasChars: 255,
  /** As a message's Subject. */
  subjectChars: 2000,
  /** Each body, UTF-8 bytes: as a message's body (5 MB). */
  bodyBytes: 5 * 1024 * 1024,
});

/** Postmark's alias rule: letters, digits, '.', '-', '_', starting with a letter. */
const ALIAS = /^[A-Za-z][A-Za-z0-9._-]*$/;

/** A template's fields once merged (create: the input; edit: the stored template with the changes). */
export interface TemplateFields {
  name: string | null;
  alias: string | null;
  subject: string | null;
  htmlBody: string | null;
  textBody: string | null;
  kind: TemplateKind;
  layoutAlias: string | null;
}

export function checkAlias(alias: string): void {
  if (alias.length > TEMPLATE_LIMITS.aliasChars) throw TemplateFieldTooLarge(`Alias must be at most ${TEMPLATE_LIMITS.aliasChars} characters.`);
  if (!ALIAS.test(alias)) throw TemplateFieldInvalid(`The alias '${clip(alias)}' is invalid: use letters, digits, '.', '-' and '_', starting with a letter.`);
}

/** Throws the first rule the fields break. */
export function checkTemplate(f: TemplateFields): void {
  if (f.name === null || f.name.trim() === "") throw TemplateFieldMissing("The 'Name' field is required.");
  if (f.name.length > TEMPLATE_LIMITS.nameChars) throw TemplateFieldTooLarge(`Name must be at most ${TEMPLATE_LIMITS.nameChars} characters.`);
  if (f.alias !== null) checkAlias(f.alias);
  if (f.htmlBody === null && f.textBody === null) throw TemplateFieldMissing("The 'HtmlBody' or 'TextBody' field is required.");
  for (const [field, body] of [["HtmlBody", f.htmlBody], ["TextBody", f.textBody]] as const) {
    if (body !== null && Buffer.byteLength(body, "utf8") > TEMPLATE_LIMITS.bodyBytes) throw TemplateFieldTooLarge(`${field} must be at most ${TEMPLATE_LIMITS.bodyBytes} bytes.`);
  }
  if (f.kind === "layout") {
    if (f.subject !== null && f.subject !== "") throw TemplateFieldNotAllowed("A layout has no 'Subject': the templates that use it have their own.");
    if (f.layoutAlias !== null) throw TemplateFieldNotAllowed("A layout cannot itself use a layout ('LayoutTemplate').");
    if (f.alias === null) throw TemplateFieldMissing("A layout needs an 'Alias': templates name their layout by it.");
  } else {
    if (f.subject === null || f.subject === "") throw TemplateFieldMissing("The 'Subject' field is required.");
    if (f.subject.length > TEMPLATE_LIMITS.subjectChars) throw TemplateFieldTooLarge(`Subject must be at most ${TEMPLATE_LIMITS.subjectChars} characters.`);
  }
  for (const [field, source] of [["Subject", f.subject], ["HtmlBody", f.htmlBody], ["TextBody", f.textBody]] as const) {
    if (source === null) continue;
    const parsed = parseTemplate(source);
    const first = parsed.errors[0];
    if (first) throw TemplateFieldInvalid(`${field} is not a valid template: ${first.message} (line ${first.line}, character ${first.character})`, { field });
    if (f.kind === "layout" && field !== "Subject") {
      const slots = countContentSlots(parsed.nodes);
      if (slots !== 1) throw LayoutContentMissing(`A layout's ${field} must contain the {{{ @content }}} placeholder exactly once; it has ${slots}.`);
    }
  }
}

export function countContentSlots(nodes: Node[]): number {
  let n = 0;
  for (const node of nodes) {
    if (node.kind === "value" && node.path.slot === "content") n++;
    else if (node.kind === "block") n += countContentSlots(node.children) + countContentSlots(node.otherwise);
  }
  return n;
}

export function clip(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
