// Templates and layouts of a workspace: stored, listed, changed, validated, rendered for sending,
// and pushed to another workspace. Every call names its workspace; a template of another
// workspace is not found. Parsed templates are cached by id and change time, so sending with a
// template parses it once.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import { isPosthornError, type PosthornError } from "../shared/errors.js";
import { parseTemplate } from "./engine/template.parser.js";
import type { TemplateSyntaxError } from "./engine/template.ast.js";
import { ModelInference } from "./engine/model.inference.js";
import { callBudget, renderTemplate } from "./engine/template.renderer.js";
import type { TemplatesRepository } from "./templates.repository.js";
import type { TemplateKind, TemplateRow } from "./templates.schema.js";
import { checkAlias, checkTemplate, countContentSlots, TEMPLATE_LIMITS, type TemplateFields } from "./template.rules.js";
import { inlineCss, renderContent, type CompiledTemplate, type RenderedContent } from "./templated-message.js";
import { LayoutInUse, TemplateFieldInvalid, TemplateFieldNotAllowed, TemplateLimitReached, TemplateNotFound, TemplatePushEmpty, TemplatePushTypeMismatch } from "./templates.errors.js";

export interface Template {
  id: number;
  workspaceId: string;
  alias: string | null;
  name: string;
  subject: string;
  htmlBody: string | null;
  textBody: string | null;
  kind: TemplateKind;
  layoutAlias: string | null;
  active: boolean;
  /** Milliseconds since the epoch: when it was created or last changed. */
  updatedAt: number;
}

/** A template named by its id or its alias. */
export type TemplateRef = { id: number } | { alias: string };

/** Fields given on create or edit: undefined leaves a field as it is, null clears it. */
export type TemplateInput = Partial<{ [K in keyof TemplateFields]: TemplateFields[K] }>;

export interface PartCheck {
  valid: boolean;
  errors: TemplateSyntaxError[];
  rendered: string | null;
}

export interface ValidationReport {
  allValid: boolean;
  subject: PartCheck;
  htmlBody: PartCheck;
  textBody: PartCheck;
  suggestedModel: Record<string, unknown>;
}

export interface SendRequest {
  ref: TemplateRef;
  model: unknown;
  inlineCss: boolean;
}

export interface PushedTemplate {
  action: "create" | "edit";
  alias: string;
  name: string;
  /** The destination's template id, once it exists there. */
  templateId: number | null;
}

export interface TemplatesDeps {
  store: Store;
  clock: Clock;
  repository: TemplatesRepository;
}

const MAX_CACHED = 2_000;

export class TemplatesService {
  private readonly compiled = new Map<string, CompiledTemplate>();

  constructor(private readonly deps: TemplatesDeps) {}

  async list(workspaceId: string, filter: { kind: TemplateKind | null; layoutAlias: string | null }, page: { count: number; offset: number }): Promise<{ templates: Template[]; total: number }> {
    const { rows, total } = await this.deps.repository.list(this.deps.store.db, workspaceId, filter, page);
    return { templates: rows.map(toTemplate), total };
  }

  async get(workspaceId: string, ref: TemplateRef): Promise<Template> {
    return toTemplate(await this.find(this.deps.store.db, workspaceId, ref));
  }

  async create(workspaceId: string, input: TemplateInput): Promise<Template> {
    const fields: TemplateFields = {
      name: input.name ?? null,
      alias: emptyToNull(input.alias),
      subject: input.subject ?? null,
      htmlBody: input.htmlBody ?? null,
      textBody: input.textBody ?? null,
      kind: input.kind ?? "standard",
      layoutAlias: emptyToNull(input.layoutAlias),
    };
    checkTemplate(fields);
    const now = this.deps.clock.now();
    const id = await this.deps.store.write(async (trx) => {
      const repo = this.deps.repository;
      if ((await repo.count(trx, workspaceId)) >= TEMPLATE_LIMITS.perWorkspace) {
        throw TemplateLimitReached(`A workspace may have at most ${TEMPLATE_LIMITS.perWorkspace} templates.`);
      }
      if (fields.alias !== null && (await repo.findByAlias(trx, workspaceId, fields.alias))) throw aliasTaken(fields.alias);
      if (fields.layoutAlias !== null) await this.requireLayout(trx, workspaceId, fields.layoutAlias);
      return repo.insert(trx, { workspace_id: workspaceId, ...columnsOf(fields), created_at: now, updated_at: now });
    });
    return this.get(workspaceId, { id });
  }

  async edit(workspaceId: string, ref: TemplateRef, input: TemplateInput): Promise<Template> {
    const id = await this.deps.store.write(async (trx) => {
      const repo = this.deps.repository;
      const row = await this.find(trx, workspaceId, ref);
      const current = toTemplate(row);
      if (input.kind !== undefined && input.kind !== null && input.kind !== current.kind) {
        throw TemplateFieldNotAllowed("A template's 'TemplateType' cannot be changed; create a new template instead.");
      }
      const fields: TemplateFields = {
        name: input.name !== undefined ? input.name : current.name,
        alias: input.alias !== undefined ? emptyToNull(input.alias) : current.alias,
        subject: input.subject !== undefined ? input.subject : current.kind === "layout" ? null : current.subject,
        htmlBody: input.htmlBody !== undefined ? input.htmlBody : current.htmlBody,
        textBody: input.textBody !== undefined ? input.textBody : current.textBody,
        kind: current.kind,
        layoutAlias: input.layoutAlias !== undefined ? emptyToNull(input.layoutAlias) : current.layoutAlias,
      };
      checkTemplate(fields);
      if (fields.alias !== null && fields.alias !== current.alias) {
        const other = await repo.findByAlias(trx, workspaceId, fields.alias);
        if (other && other.id !== row.id) throw aliasTaken(fields.alias);
      }
      if (fields.layoutAlias !== null && fields.layoutAlias !== current.layoutAlias) await this.requireLayout(trx, workspaceId, fields.layoutAlias);
      if (current.kind === "layout" && current.alias !== null && fields.alias !== current.alias) {
        // The templates that use this layout follow its new alias; without one they could not.
        if (fields.alias === null && (await repo.countUsing(trx, workspaceId, current.alias)) > 0) throw layoutInUse(current.alias);
        await repo.renameLayout(trx, workspaceId, current.alias, fields.alias);
      }
      await repo.update(trx, workspaceId, row.id, { ...columnsOf(fields), updated_at: Math.max(this.deps.clock.now(), row.updated_at + 1) });
      return row.id;
    });
    return this.get(workspaceId, { id });
  }

  async delete(workspaceId: string, ref: TemplateRef): Promise<Template> {
    return this.deps.store.write(async (trx) => {
      const row = await this.find(trx, workspaceId, ref);
      if (row.kind === "layout" && row.alias !== null && (await this.deps.repository.countUsing(trx, workspaceId, row.alias)) > 0) throw layoutInUse(row.alias);
      await this.deps.repository.delete(trx, workspaceId, row.id);
      return toTemplate(row);
    });
  }

  /**
   * Postmark's validate call: each part given is parsed (errors with line and character) and, if
   * valid, rendered with the test model, or with the suggested model when none is given. A
   * standard template naming a layout is rendered inside it, and the layout's tags join the
   * suggested model.
   */
  async validate(
    workspaceId: string,
    input: { subject: string | null; htmlBody: string | null; textBody: string | null; kind: TemplateKind; layoutAlias: string | null; testModel: unknown; inlineCss: boolean },
  ): Promise<ValidationReport> {
    const layout = input.kind === "standard" && input.layoutAlias ? await this.requireLayout(this.deps.store.db, workspaceId, input.layoutAlias) : null;
    const parts = {
      subject: input.subject === null ? null : parseTemplate(input.subject),
      htmlBody: input.htmlBody === null ? null : parseTemplate(input.htmlBody),
      textBody: input.textBody === null ? null : parseTemplate(input.textBody),
    };
    const inference = new ModelInference();
    for (const part of Object.values(parts)) if (part) inference.add(part.nodes);
    const layoutCompiled = layout ? this.compile(layout) : null;
    if (layoutCompiled) for (const nodes of [layoutCompiled.html, layoutCompiled.text]) if (nodes) inference.add(nodes);
    const suggestedModel = inference.model();
    const model = input.testModel ?? suggestedModel;
    const check = (key: "subject" | "htmlBody" | "textBody"): PartCheck => {
      const part = parts[key];
      if (!part) return { valid: true, errors: [], rendered: null };
      const errors = [...part.errors];
      if (input.kind === "layout" && key !== "subject" && errors.length === 0) {
        const slots = countContentSlots(part.nodes);
        if (slots !== 1) errors.push({ message: `A layout must contain the {{{ @content }}} placeholder exactly once; it has ${slots}.`, line: 1, character: 1 });
      }
      if (errors.length > 0) return { valid: false, errors, rendered: null };
      try {
        const escape = key === "htmlBody";
        let rendered = renderTemplate(part.nodes, model, { escape });
        const wrapper = key === "htmlBody" ? layoutCompiled?.html : key === "textBody" ? layoutCompiled?.text : null;
        if (wrapper) rendered = renderTemplate(wrapper, model, { content: rendered, escape });
        if (key === "htmlBody" && input.inlineCss) rendered = inlineCss(rendered);
        return { valid: true, errors: [], rendered };
      } catch (err) {
        if (!isPosthornError(err)) throw err;
        return { valid: false, errors: [{ message: err.message, line: 1, character: 1 }], rendered: null };
      }
    };
    const report = { subject: check("subject"), htmlBody: check("htmlBody"), textBody: check("textBody") };
    return { allValid: report.subject.valid && report.htmlBody.valid && report.textBody.valid, ...report, suggestedModel };
  }

  /**
   * The content of templated messages, in input order: each the rendered template (in its
   * layout), or the error that refuses that message alone. Templates are read in one query per
   * call (two when layouts are used), so a batch of 500 costs no more lookups than one message.
   */
  async renderForSending(workspaceId: string, requests: SendRequest[]): Promise<Array<RenderedContent | PosthornError>> {
    const db = this.deps.store.db;
    const ids = requests.flatMap((r) => ("id" in r.ref ? [r.ref.id] : []));
    const aliases = requests.flatMap((r) => ("alias" in r.ref ? [r.ref.alias] : []));
    const rows = await this.deps.repository.findMany(db, workspaceId, unique(ids), unique(aliases));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const byAlias = new Map(rows.flatMap((r) => (r.alias ? [[r.alias, r] as const] : [])));
    const layoutAliases = unique(rows.flatMap((r) => (r.layout_alias && !byAlias.has(r.layout_alias) ? [r.layout_alias] : [])));
    for (const layout of await this.deps.repository.findMany(db, workspaceId, [], layoutAliases)) byAlias.set(layout.alias!, layout);
    const budget = callBudget();
    return requests.map((request) => {
      try {
        const row = "id" in request.ref ? byId.get(request.ref.id) : byAlias.get(request.ref.alias);
        if (!row) throw notFound(request.ref);
        if (row.kind === "layout") throw TemplateFieldNotAllowed(`Template ${describe(request.ref)} is a layout; layouts cannot be sent, only the templates that use them.`);
        const layout = row.layout_alias ? byAlias.get(row.layout_alias) : undefined;
        if (row.layout_alias && (!layout || layout.kind !== "layout")) throw TemplateNotFound(`The layout '${row.layout_alias}' of template ${describe(request.ref)} was not found.`);
        return renderContent({ template: this.compile(row), layout: layout ? this.compile(layout) : null, model: request.model, inlineCss: request.inlineCss, budget });
      } catch (err) {
        if (isPosthornError(err)) return err;
        throw err;
      }
    });
  }

  /**
   * Copies the templates with an alias from one workspace to another, matched by alias: missing
   * ones are created, different ones edited, equal ones left out. With `perform` false nothing
   * changes and the answer says what would.
   */
  async push(sourceWorkspaceId: string, destinationWorkspaceId: string, perform: boolean): Promise<PushedTemplate[]> {
    const run = async (db: Parameters<TemplatesRepository["all"]>[0]) => {
      const repo = this.deps.repository;
      const source = (await repo.all(db, sourceWorkspaceId)).filter((r) => r.alias !== null);
      if (source.length === 0) throw TemplatePushEmpty("The source server has no templates with an alias to push.");
      const destination = await repo.all(db, destinationWorkspaceId);
      const existing = new Map(destination.flatMap((r) => (r.alias ? [[r.alias, r] as const] : [])));
      // Layouts first, so that the templates using them find them.
      source.sort((a, b) => (a.kind === b.kind ? a.id - b.id : a.kind === "layout" ? -1 : 1));
      const changes: Array<{ row: TemplateRow; target: TemplateRow | null }> = [];
      for (const row of source) {
        const target = existing.get(row.alias!) ?? null;
        if (target && target.kind !== row.kind) throw TemplatePushTypeMismatch(`'${row.alias}' is a ${row.kind} template in the source server and a ${target.kind} template in the destination.`);
        if (!target || !sameContent(row, target)) changes.push({ row, target });
      }
      const creates = changes.filter((c) => c.target === null).length;
      if (destination.length + creates > TEMPLATE_LIMITS.perWorkspace) throw TemplateLimitReached(`The destination server would have more than ${TEMPLATE_LIMITS.perWorkspace} templates.`);
      const now = this.deps.clock.now();
      const pushed: PushedTemplate[] = [];
      for (const { row, target } of changes) {
        let templateId = target?.id ?? null;
        if (perform) {
          const columns = { name: row.name, subject: row.subject, html_body: row.html_body, text_body: row.text_body, layout_alias: row.layout_alias };
          if (target) await repo.update(db, destinationWorkspaceId, target.id, { ...columns, updated_at: Math.max(now, target.updated_at + 1) });
          else templateId = await repo.insert(db, { workspace_id: destinationWorkspaceId, alias: row.alias, kind: row.kind, ...columns, created_at: now, updated_at: now });
        }
        pushed.push({ action: target ? "edit" : "create", alias: row.alias!, name: row.name, templateId });
      }
      return pushed;
    };
    return perform ? this.deps.store.write(run) : run(this.deps.store.db);
  }

  private async find(db: Parameters<TemplatesRepository["findById"]>[0], workspaceId: string, ref: TemplateRef): Promise<TemplateRow> {
    const row = "id" in ref ? await this.deps.repository.findById(db, workspaceId, ref.id) : await this.deps.repository.findByAlias(db, workspaceId, ref.alias);
    if (!row) throw notFound(ref);
    return row;
  }

  private async requireLayout(db: Parameters<TemplatesRepository["findByAlias"]>[0], workspaceId: string, alias: string): Promise<TemplateRow> {
    checkAlias(alias);
    const row = await this.deps.repository.findByAlias(db, workspaceId, alias);
    if (!row || row.kind !== "layout") throw TemplateNotFound(`No layout with the alias '${alias}' was found.`);
    return row;
  }

  private compile(row: TemplateRow): CompiledTemplate {
    const key = `${row.id}:${row.updated_at}`;
    let compiled = this.compiled.get(key);
    if (!compiled) {
      // Stored templates were checked on the way in; a part that no longer parses renders what parsed.
      compiled = {
        subject: parseTemplate(row.subject).nodes,
        html: row.html_body === null ? null : parseTemplate(row.html_body).nodes,
        text: row.text_body === null ? null : parseTemplate(row.text_body).nodes,
      };
      if (this.compiled.size >= MAX_CACHED) this.compiled.clear();
      this.compiled.set(key, compiled);
    }
    return compiled;
  }
}

function toTemplate(row: TemplateRow): Template {
  return {
    id: Number(row.id),
    workspaceId: row.workspace_id,
    alias: row.alias,
    name: row.name,
    subject: row.subject,
    htmlBody: row.html_body,
    textBody: row.text_body,
    kind: row.kind,
    layoutAlias: row.layout_alias,
    active: row.active === 1,
    updatedAt: Number(row.updated_at),
  };
}

function columnsOf(f: TemplateFields) {
  return { alias: f.alias, name: f.name!, subject: f.subject ?? "", html_body: f.htmlBody, text_body: f.textBody, kind: f.kind, layout_alias: f.layoutAlias };
}

function sameContent(a: TemplateRow, b: TemplateRow): boolean {
  return a.name === b.name && a.subject === b.subject && a.html_body === b.html_body && a.text_body === b.text_body && a.layout_alias === b.layout_alias;
}

function emptyToNull(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === "" ? null : value;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function describe(ref: TemplateRef): string {
  return "id" in ref ? `${ref.id}` : `'${ref.alias}'`;
}

function notFound(ref: TemplateRef): PosthornError {
  return TemplateNotFound(`No template with ${"id" in ref ? `the id ${ref.id}` : `the alias '${ref.alias}'`} was found.`);
}

function aliasTaken(alias: string): PosthornError {
  return TemplateFieldInvalid(`The alias '${alias}' is already used by another template of this server.`);
}

function layoutInUse(alias: string): PosthornError {
  return LayoutInUse(`The layout '${alias}' is used by templates; change their LayoutTemplate first.`);
}
