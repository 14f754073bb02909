// A bulk send (Postmark's POST /email/bulk) in Posthorn's words: content defined once, a list of
// recipients each with their own model, turned into one accepted message per recipient in the
// background. Stored as given, so a restart carries on where the last commit left off.
import type { CustomHeader, MessageDraft } from "../messages/message.types.js";
import type { PosthornError } from "../shared/errors.js";

/** The content every recipient's message shares: a draft whose subject and bodies are templates. */
export interface BulkContent {
  /** To, Cc and Bcc are null here: each recipient brings their own. */
  draft: MessageDraft;
  /** A stored template to render instead of the draft's subject and bodies. */
  template: { id: number | null; alias: string | null } | null;
  /** Inline <style> rules into style attributes (Postmark's InlineCss, on by default). */
  inlineCss: boolean;
}

export interface BulkRecipient {
  to: string;
  cc: string | null;
  bcc: string | null;
  /** What the templates are rendered with (Postmark's TemplateModel). */
  model: Record<string, unknown>;
  /** Added to the shared metadata and headers; the recipient's value wins on the same key. */
  metadata: Record<string, string>;
  headers: CustomHeader[];
}

export interface BulkRequest {
  content: BulkContent;
  recipients: BulkRecipient[];
}

/** accepted: waiting; processing: some recipients' messages accepted; completed; failed: could not be processed at all. */
export type BulkState = "accepted" | "processing" | "completed" | "failed";

export interface BulkSend {
  id: string;
  workspaceId: string;
  state: BulkState;
  /** The shared subject as given (a template when a stored template is used: its name is not resolved here). */
  subject: string;
  total: number;
  /** Recipients handled so far: their message accepted, or refused and counted in `failed`. */
  done: number;
  failed: number;
  createdAt: number;
}

/** Renders recipients' subjects and bodies (the templates domain does it; see app/container.ts). */
export interface BulkRenderer {
  /** Throws the coded error a submission is refused for when its content cannot be used (an unknown template, a layout, a syntax error). */
  check(workspaceId: string, content: BulkContent): Promise<void>;
  /** One result per model, in order: the content, or the coded error that refuses that recipient alone. */
  renderMany(workspaceId: string, content: BulkContent, models: Array<Record<string, unknown>>): Promise<Array<{ subject: string; htmlBody: string | null; textBody: string | null } | PosthornError>>;
}
