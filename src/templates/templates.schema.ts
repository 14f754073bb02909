// Row type of the templates table (migration 012), added to the store's Database type by
// declaration merging so that store/schema.ts stays owned by the store.
import type { Generated, Selectable } from "kysely";

export type TemplateKind = "standard" | "layout";

export interface TemplatesTable {
  /** Postmark's TemplateId: a number, so an auto-increment key. */
  id: Generated<number>;
  workspace_id: string;
  /** Unique within the workspace when set; letters, digits, '.', '-', '_', starting with a letter. */
  alias: string | null;
  name: string;
  subject: string;
  html_body: string | null;
  text_body: string | null;
  kind: TemplateKind;
  /** The alias of the layout a standard template is rendered into; null for none (and for layouts). */
  layout_alias: string | null;
  active: Generated<number>;
  created_at: number;
  updated_at: number;
}

export type TemplateRow = Selectable<TemplatesTable>;

declare module "../store/schema.js" {
  interface Database {
    templates: TemplatesTable;
  }
}
