// Bulk sends: POST /email/bulk stores the request (content once, every recipient) and answers at
// once; the worker role (bulk.processor.ts) turns it into one accepted message per recipient, in
// chunks, each chunk's messages committed with the send's progress. Everything a client could get
// wrong in the request is checked before it is stored; what can only fail per recipient (a
// rendering error, an inactive address) is counted as failed and the send goes on.
import { randomUUID } from "node:crypto";
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Workspace } from "../workspaces/workspaces.service.js";
import type { WorkspacesService } from "../workspaces/workspaces.service.js";
import { DEFAULT_STREAM } from "../messages/message.validation.js";
import type { BulkRepository } from "./bulk.repository.js";
import type { BulkRenderer, BulkRequest, BulkSend } from "./bulk.types.js";
import { BULK_NOT_FOUND } from "./bulk.errors.js";

export interface BulkServiceDeps {
  store: Store;
  clock: Clock;
  repository: BulkRepository;
  workspaces: WorkspacesService;
  renderer: BulkRenderer;
  /** A send was stored: the local worker, if any, starts on it at once. */
  onSubmitted?: () => void;
}

export class BulkService {
  constructor(private readonly deps: BulkServiceDeps) {}

  async submit(workspace: Workspace, request: BulkRequest): Promise<BulkSend> {
    await this.deps.workspaces.assertSendableStream(workspace.id, request.content.draft.stream ?? DEFAULT_STREAM);
    await this.deps.renderer.check(workspace.id, request.content);
    const now = this.deps.clock.now();
    const row = {
      id: randomUUID(),
      workspace_id: workspace.id,
      state: "accepted" as const,
      subject: request.content.draft.subject ?? "",
      request_json: JSON.stringify(request),
      total: request.recipients.length,
      done: 0,
      failed: 0,
      next_run_at: now,
      last_error: null,
      created_at: now,
      updated_at: now,
    };
    await this.deps.store.write((trx) => this.deps.repository.insert(trx, row));
    this.deps.onSubmitted?.();
    return { id: row.id, workspaceId: workspace.id, state: row.state, subject: row.subject, total: row.total, done: 0, failed: 0, createdAt: now };
  }

  async status(workspace: Workspace, id: string): Promise<BulkSend> {
    const found = await this.deps.repository.find(this.deps.store.db, workspace.id, id);
    if (!found) throw BULK_NOT_FOUND(`The bulk request '${id}' was not found.`);
    return found;
  }
}
