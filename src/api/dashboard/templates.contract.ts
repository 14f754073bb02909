// What the dashboard's template calls take and answer (issue 13): list, read, create, edit, delete,
// preview (the validate call's report, rendered with a test model) and send a test. The web
// dashboard imports these types through "@contract/templates.contract".
import { z } from "zod";

export const TemplateKind = z.enum(["standard", "layout"]);
export type TemplateKind = z.infer<typeof TemplateKind>;

export const TemplateParams = z.object({ workspaceId: z.string().min(1), templateId: z.coerce.number().int().positive() });

export const TemplatesQuery = z.object({ kind: TemplateKind.optional() });

export const TemplateSummary = z.object({
  id: z.number(),
  name: z.string(),
  alias: z.string().nullable(),
  kind: TemplateKind,
  layoutAlias: z.string().nullable(),
  /** Milliseconds since the epoch. */
  updatedAt: z.number(),
});
export type TemplateSummary = z.infer<typeof TemplateSummary>;

export const TemplateDetail = TemplateSummary.extend({ subject: z.string(), htmlBody: z.string().nullable(), textBody: z.string().nullable() });
export type TemplateDetail = z.infer<typeof TemplateDetail>;

export interface TemplatesAnswer {
  templates: TemplateSummary[];
  total: number;
}

// Sizes are the domain's to check (template.rules.ts); these bounds only keep a body from being absurd.
const text = z.string().max(6 * 1024 * 1024);

/** A new template: a layout needs no subject; either body will do. */
export const TemplateCreateBody = z.object({
  name: z.string().max(255),
  alias: z.string().max(255).nullable().optional(),
  kind: TemplateKind.optional(),
  subject: z.string().max(2_000).nullable().optional(),
  htmlBody: text.nullable().optional(),
  textBody: text.nullable().optional(),
  layoutAlias: z.string().max(255).nullable().optional(),
});
export type TemplateCreateBody = z.infer<typeof TemplateCreateBody>;

/** An edit: a field left out stays as it is, null clears it. The kind never changes. */
export const TemplateEditBody = TemplateCreateBody.omit({ kind: true }).partial();
export type TemplateEditBody = z.infer<typeof TemplateEditBody>;

/** A test model is a JSON object, as Postmark's TemplateModel. */
export const TestModel = z.record(z.string(), z.unknown());

export const TemplatePreviewBody = z.object({
  kind: TemplateKind.default("standard"),
  subject: z.string().max(2_000).nullable(),
  htmlBody: text.nullable(),
  textBody: text.nullable(),
  layoutAlias: z.string().max(255).nullable().optional(),
  /** null: render with the model the template suggests. */
  testModel: TestModel.nullable(),
  inlineCss: z.boolean().default(true),
});
export type TemplatePreviewBody = z.input<typeof TemplatePreviewBody>;

export interface TemplateSyntaxProblem {
  message: string;
  /** 1-based. */
  line: number;
  character: number;
}

export interface TemplatePartPreview {
  valid: boolean;
  errors: TemplateSyntaxProblem[];
  /** The part rendered with the test model; null when absent or invalid. */
  rendered: string | null;
}

export interface TemplatePreviewAnswer {
  allValid: boolean;
  subject: TemplatePartPreview;
  htmlBody: TemplatePartPreview;
  textBody: TemplatePartPreview;
  /** A model with every name the template uses, to start a test model from. */
  suggestedModel: Record<string, unknown>;
}

/** A test send of the saved template: accepted as any message, so it shows in activity. */
export const TemplateTestBody = z.object({
  from: z.string().min(1).max(1_000),
  to: z.string().min(1).max(1_000),
  testModel: TestModel.nullable().default(null),
  /** The stream to send on; absent: the default transactional stream. */
  stream: z.string().max(30).optional(),
});
export type TemplateTestBody = z.input<typeof TemplateTestBody>;

export interface TemplateTestAnswer {
  messageId: string;
  submittedAt: number;
  to: string[];
  /** Recipients not attempted because they are inactive (suppressed) on the stream. */
  suppressed: string[];
}
