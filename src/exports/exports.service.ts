// ExportsService: exports asked for, listed, read, and their files opened through signed links
// (the App API's /v1/exports calls). Asking only records: the worker role builds the file in
// batches (export.processor.ts). At most MAX_BUILDING exports build at once per workspace; the
// place is taken in the transaction that records the export and given back in the one that
// finishes it.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { SegmentsService } from "../segments/segments.port.js";
import type { BroadcastsService } from "../broadcasts/broadcasts.service.js";
import { segmentIds } from "../broadcasts/audience.reader.js";
import { ExportInvalid, ExportNewsletterNotFound, ExportNotFound, ExportNotReady, ExportTooBusy } from "./exports.errors.js";
import type { ExportsRepository } from "./exports.repository.js";
import type { ExportRow } from "./exports.schema.js";
import type { Export, ExportFile, ExportRequest } from "./exports.types.js";
import { parseCustomersExport, parseDeliveriesExport } from "./export-request.js";
import { LINK_LIFETIME_MS, type DownloadLinks } from "./download-links.js";
import { csvLines } from "./export-file.js";

/** Exports building at once per workspace (pending or running); more answer EXPORT_TOO_BUSY. */
export const MAX_BUILDING = 3;
/** listExports answers the newest this many (finished exports are removed after RETENTION_MS anyway). */
export const MAX_LISTED = 1_000;

export interface ExportsServiceDeps {
  store: Store;
  clock: Clock;
  repository: ExportsRepository;
  segments: Pick<SegmentsService, "get">;
  broadcasts: Pick<BroadcastsService, "get">;
  links: DownloadLinks;
  /** An export was recorded: the local worker, if any, starts on it at once. */
  onStored?: () => void;
}

export class ExportsService {
  constructor(private readonly deps: ExportsServiceDeps) {}

  /** createCustomersExport: `{filters}` (a filter tree), every matching person a row. */
  async createCustomers(workspaceId: string, body: unknown): Promise<Export> {
    const request = parseCustomersExport(body);
    if (request.kind !== "customers") throw new Error("not a customers export");
    for (const id of segmentIds(request.filter)) {
      if (!(await this.deps.segments.get(workspaceId, id))) throw ExportInvalid(`filters: segment ${id} does not exist.`, { field: "filters" });
    }
    return this.record(workspaceId, request, `Customers matching ${JSON.stringify(request.filter)}`);
  }

  /** createDeliveriesExport: `{newsletter_id, start?, end?, attributes?, metric?, drafts?}`, one newsletter's mail. */
  async createDeliveries(workspaceId: string, body: unknown): Promise<Export> {
    const request = parseDeliveriesExport(body);
    if (request.kind !== "deliveries") throw new Error("not a deliveries export");
    const broadcast = await this.deps.broadcasts.get(workspaceId, request.broadcastId);
    if (!broadcast) throw ExportNewsletterNotFound(`There is no newsletter (broadcast) ${request.broadcastId}.`, { field: "newsletter_id" });
    const narrowed = [request.metric ? `metric ${request.metric}` : null, request.from !== null ? `from ${new Date(request.from).toISOString()}` : null, request.until !== null ? `until ${new Date(request.until).toISOString()}` : null].filter(Boolean);
    return this.record(workspaceId, request, `Deliveries of newsletter ${request.broadcastId} (${broadcast.definition.name})${narrowed.length ? `, ${narrowed.join(", ")}` : ""}`);
  }

  async list(workspaceId: string): Promise<Export[]> {
    return (await this.deps.repository.list(this.deps.store.db, workspaceId, MAX_LISTED)).map(toExport);
  }

  async get(workspaceId: string, exportId: string): Promise<Export> {
    const id = numericId(exportId);
    const row = id === null ? null : await this.deps.repository.find(this.deps.store.db, workspaceId, id);
    if (!row) throw ExportNotFound(`There is no export ${exportId}.`);
    return toExport(row);
  }

  /** A token for the file of a done export, valid for 15 minutes (the edge makes it a URL). */
  async downloadToken(workspaceId: string, exportId: string): Promise<{ token: string; expiresAt: number }> {
    const found = await this.get(workspaceId, exportId);
    if (found.state !== "done") throw ExportNotReady(`Export ${exportId} is ${found.state}; only a done export can be downloaded.`);
    const expiresAt = Math.floor((this.deps.clock.now() + LINK_LIFETIME_MS) / 1000);
    return { token: this.deps.links.sign({ workspaceId, exportId: Number(found.exportId), expiresAt }), expiresAt };
  }

  /** What a download link opens: the CSV (counted as a download), or why not. */
  async open(token: string): Promise<ExportFile> {
    const claim = this.deps.links.verify(token);
    if (!claim) return { kind: "refused", reason: "forged" };
    const now = this.deps.clock.now();
    if (claim.expiresAt * 1000 < now) return { kind: "refused", reason: "expired" };
    const { store, repository } = this.deps;
    const row = await repository.find(store.db, claim.workspaceId, claim.exportId);
    if (!row || row.state !== "done") return { kind: "missing" };
    await store.write((trx) => repository.countDownload(trx, claim.workspaceId, claim.exportId, now));
    const attributes = JSON.parse(row.columns_json) as string[];
    const id = Number(row.id);
    return { kind: "file", filename: `${row.kind}-export-${id}.csv`, lines: csvLines(row.kind, attributes, Number(row.chunks), (seq) => repository.chunk(store.db, id, seq)) };
  }

  private async record(workspaceId: string, request: ExportRequest, description: string): Promise<Export> {
    const { store, clock, repository } = this.deps;
    const now = clock.now();
    const id = await store.write(async (trx) => {
      if (!(await repository.takePlace(trx, workspaceId, MAX_BUILDING))) throw ExportTooBusy(`This workspace already has ${MAX_BUILDING} exports building; retry when one is done.`);
      return repository.insert(trx, {
        workspace_id: workspaceId,
        kind: request.kind,
        request_json: JSON.stringify(request),
        description: description.length > 1_000 ? `${description.slice(0, 997)}...` : description,
        state: "pending",
        cursor: null,
        chunks: 0,
        total: 0,
        columns_json: JSON.stringify(request.kind === "deliveries" ? request.attributes : []),
        downloads: 0,
        error: null,
        next_run_at: now,
        created_at: now,
        updated_at: now,
        finished_at: null,
      });
    });
    this.deps.onStored?.();
    return this.get(workspaceId, String(id));
  }
}

export function numericId(id: string): number | null {
  return /^[1-9]\d{0,14}$/.test(id) ? Number(id) : null;
}

export function toExport(row: ExportRow): Export {
  return {
    exportId: String(row.id),
    workspaceId: row.workspace_id,
    kind: row.kind,
    request: JSON.parse(row.request_json) as ExportRequest,
    description: row.description,
    state: row.state,
    total: Number(row.total),
    downloads: Number(row.downloads),
    error: row.error,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}
