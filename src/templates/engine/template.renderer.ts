// Renders a parsed template with a model. The model is data (parsed JSON): nothing in it is
// called, only its own properties are read, and names that reach prototypes (__proto__,
// constructor, prototype) resolve to nothing. Rendering is bounded: at most `maxSteps` nodes and
// loop iterations and `maxOutputChars` characters, else TEMPLATE_RENDER_LIMIT, so a small
// template over a large list (or nested loops) cannot hold the event loop or the memory.
import type { Node, Path } from "./template.ast.js";
import { TemplateRenderLimit } from "../templates.errors.js";

export interface RenderLimits {
  /** Characters of output per render. */
  maxOutputChars: number;
  /** Nodes visited plus loop iterations per render. */
  maxSteps: number;
}

/** 10 MB of output covers Postmark's 10 MB message; a million steps render in well under a second. */
export const DEFAULT_RENDER_LIMITS: Readonly<RenderLimits> = Object.freeze({ maxOutputChars: 10 * 1024 * 1024, maxSteps: 1_000_000 });

/**
 * What several renders may spend together (a batch of 500 messages, each with its own limits,
 * could otherwise take 500 times as long and as much memory); decremented as they run.
 */
export interface RenderBudget {
  steps: number;
  chars: number;
}

/** Per call of the API: five renders' worth of work, and the 50 MB a batch request may carry. */
export function callBudget(): RenderBudget {
  return { steps: 5 * DEFAULT_RENDER_LIMITS.maxSteps, chars: 50 * 1024 * 1024 };
}

export interface RenderOptions {
  /** Shared with the other renders of the same call, when given. */
  budget?: RenderBudget;
  /** The rendered body that a layout's {{{ @content }}} shows; "" elsewhere. */
  content?: string;
  limits?: RenderLimits;
  /** HTML-escape {{ x }} (the default, for HTML); off for subjects and plain text, where entities would show as typed. */
  escape?: boolean;
}

const UNREACHABLE = new Set(["__proto__", "constructor", "prototype"]);

export function renderTemplate(nodes: Node[], model: unknown, options: RenderOptions = {}): string {
  const limits = options.limits ?? DEFAULT_RENDER_LIMITS;
  const escaping = options.escape ?? true;
  const budget = options.budget;
  const out: string[] = [];
  let chars = 0;
  let steps = 0;
  const scopes: unknown[] = [model];

  const emit = (text: string) => {
    chars += text.length;
    if (chars > limits.maxOutputChars) throw TemplateRenderLimit(`The rendered template is longer than ${limits.maxOutputChars} characters.`);
    if (budget && (budget.chars -= text.length) < 0) throw TemplateRenderLimit("The templates of this request render to more than one request may produce.");
    out.push(text);
  };
  const step = () => {
    if (++steps > limits.maxSteps) throw TemplateRenderLimit(`Rendering took more than ${limits.maxSteps} steps; the model's lists are too long for this template.`);
    if (budget && --budget.steps < 0) throw TemplateRenderLimit("Rendering the templates of this request took more work than one request may; send fewer or smaller messages per request.");
  };
  const lookup = (path: Path): unknown => {
    if (path.slot === "content") return options.content ?? "";
    const base = scopes.length - 1 - path.up;
    if (base < 0) return undefined;
    let value = scopes[base];
    for (const name of path.names) value = child(value, name);
    return value;
  };
  const walk = (nodes: Node[]): void => {
    for (const node of nodes) {
      step();
      if (node.kind === "text") emit(node.text);
      else if (node.kind === "value") {
        const text = textOf(lookup(node.path));
        if (text !== "") emit(escaping && node.escape && node.path.slot === null ? escapeHtml(text) : text);
      } else {
        const value = lookup(node.path);
        const shown = truthy(value);
        if (node.type === "inverted") {
          if (!shown) walk(node.children);
        } else if (!shown) {
          walk(node.otherwise);
        } else if (node.type === "if") {
          walk(node.children);
        } else if (Array.isArray(value)) {
          for (const item of value) {
            step();
            scopes.push(item);
            walk(node.children);
            scopes.pop();
          }
        } else if (node.type === "each") {
          // Mustachio's each walks lists only; an object or scalar renders the {{else}} part.
          walk(node.otherwise);
        } else {
          scopes.push(value);
          walk(node.children);
          scopes.pop();
        }
      }
    }
  };
  walk(nodes);
  return out.join("");
}

function child(value: unknown, name: string): unknown {
  if (value === null || typeof value !== "object" || UNREACHABLE.has(name)) return undefined;
  if (Array.isArray(value)) return /^\d{1,9}$/.test(name) ? value[Number(name)] : undefined;
  if (!Object.hasOwn(value, name)) return undefined;
  const found = (value as Record<string, unknown>)[name];
  return typeof found === "function" ? undefined : found;
}

/** Falsy: absent, null, false, 0, "" and an empty list (Mustachio's rule). */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== "" && !Number.isNaN(value);
}

/** Strings, numbers and booleans print; objects, lists and absent values print nothing. */
function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  if (typeof value === "boolean") return value ? "true" : "false";
  return "";
}

const HTML_SPECIAL = /[&<>"']/;
const HTML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return HTML_SPECIAL.test(text) ? text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!) : text;
}
