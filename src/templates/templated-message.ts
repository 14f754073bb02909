// A templated message's content: the template's Subject, HtmlBody and TextBody rendered with the
// sender's model, a standard template's bodies placed in its layout's {{{ @content }}} (the
// layout's own tags filled from the same model), <style> inlined into style attributes (juice)
// when InlineCss is on, and a TextBody made from the HTML (html-to-text) when the template has
// HTML only. What comes out is an ordinary message's content: acceptance treats it as any other.
import { lazyModule } from "../shared/lazy-module.js";
import type { Node } from "./engine/template.ast.js";
import { renderTemplate, type RenderBudget, type RenderLimits } from "./engine/template.renderer.js";

/** A template's parts, parsed (null for an absent body). */
export interface CompiledTemplate {
  subject: Node[];
  html: Node[] | null;
  text: Node[] | null;
}

export interface RenderedContent {
  subject: string;
  htmlBody: string | null;
  textBody: string | null;
}

export interface ContentRequest {
  template: CompiledTemplate;
  layout: CompiledTemplate | null;
  model: unknown;
  inlineCss: boolean;
  limits?: RenderLimits;
  /** Shared by the messages of one request. */
  budget?: RenderBudget;
}

export function renderContent(request: ContentRequest): RenderedContent {
  const { template, layout, model, limits, budget } = request;
  const subject = renderTemplate(template.subject, model, { escape: false, limits, budget });
  let htmlBody = template.html ? renderTemplate(template.html, model, { limits, budget }) : null;
  let textBody = template.text ? renderTemplate(template.text, model, { escape: false, limits, budget }) : null;
  if (layout) {
    if (htmlBody !== null && layout.html) htmlBody = renderTemplate(layout.html, model, { content: htmlBody, limits, budget });
    if (textBody !== null && layout.text) textBody = renderTemplate(layout.text, model, { content: textBody, escape: false, limits, budget });
  }
  if (htmlBody !== null && request.inlineCss) htmlBody = inlineCss(htmlBody);
  if (textBody === null && htmlBody !== null) textBody = textFromHtml(htmlBody);
  return { subject, htmlBody, textBody };
}

const juice = lazyModule<typeof import("juice")>("juice");
const htmlToText = lazyModule<typeof import("html-to-text")>("html-to-text");

/** juice parses the whole document; HTML without a <style> element has nothing to inline and skips it. */
export function inlineCss(html: string): string {
  if (!/<style[\s>]/i.test(html)) return html;
  return juice()(html, { preserveMediaQueries: true, preserveFontFaces: true, removeStyleTags: true });
}

export function textFromHtml(html: string): string {
  // No wrapping: mail clients wrap text themselves; links keep their address in brackets.
  return htmlToText().convert(html, { wordwrap: false, selectors: [{ selector: "img", format: "skip" }] });
}
