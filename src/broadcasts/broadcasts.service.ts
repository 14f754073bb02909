// BroadcastsService: newsletters defined, listed, read and cancelled (the App API's
// /v1/broadcasts). Defining only stores: the worker role's processor does the sending, in chunks,
// under claims (broadcast.processor.ts). API-triggered broadcasts: broadcast-triggers.service.ts.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { SegmentsService } from "../segments/segments.port.js";
import type { MessageCounts } from "../journeys/journeys.port.js";
import type { OutreachLedger } from "../channels/email/outreach.port.js";
import { BroadcastInvalid, BroadcastNotFound, BroadcastStateConflict } from "./broadcasts.errors.js";
import type { BroadcastsRepository } from "./broadcasts.repository.js";
import type { BroadcastRow } from "./broadcasts.schema.js";
import type { Broadcast, BroadcastDefinition } from "./broadcasts.types.js";
import { parseBroadcast } from "./broadcast-definition.js";
import { segmentIds } from "./audience.reader.js";
import { EARLIEST_ZONE_MS, localInstant } from "./local-time.js";

const MAX_LIST = 100;

export interface BroadcastsServiceDeps {
  store: Store;
  clock: Clock;
  repository: BroadcastsRepository;
  segments: Pick<SegmentsService, "get">;
  ledger: Pick<OutreachLedger, "countsByBroadcast">;
  /** A broadcast or trigger was stored: the local worker, if any, looks at once. */
  onStored?: () => void;
}

export class BroadcastsService {
  constructor(private readonly deps: BroadcastsServiceDeps) {}

  /** Checks and stores a broadcast (the App API body's `broadcast` object); the worker sends it when due. */
  async create(workspaceId: string, input: unknown): Promise<Broadcast> {
    const { store, clock, repository } = this.deps;
    const now = clock.now();
    const definition = parseBroadcast(input, now);
    for (const id of segmentIds(definition.audience)) {
      if (!(await this.deps.segments.get(workspaceId, id))) throw BroadcastInvalid(`broadcast.recipients: segment ${id} does not exist.`, { field: "broadcast.recipients" });
    }
    const id = await store.write((trx) =>
      repository.insert(trx, {
        workspace_id: workspaceId,
        name: definition.name,
        definition_json: JSON.stringify(definition),
        state: "scheduled",
        phase: "snapshot",
        snapshot_cursor: null,
        audience_size: null,
        handled: 0,
        sent: 0,
        skipped: 0,
        failed: 0,
        last_error: null,
        next_run_at: snapshotAt(definition, now),
        created_at: now,
        updated_at: now,
        finished_at: null,
      }),
    );
    this.deps.onStored?.();
    return (await this.get(workspaceId, String(id)))!;
  }

  async list(workspaceId: string, options: { limit: number; before: string | null }): Promise<Broadcast[]> {
    const before = options.before === null ? null : numericId(options.before);
    const rows = await this.deps.repository.list(this.deps.store.db, workspaceId, Math.min(Math.max(1, options.limit), MAX_LIST), before);
    return rows.map(toBroadcast);
  }

  async get(workspaceId: string, broadcastId: string): Promise<Broadcast | null> {
    const id = numericId(broadcastId);
    if (id === null) return null;
    const row = await this.deps.repository.find(this.deps.store.db, workspaceId, id);
    return row ? toBroadcast(row) : null;
  }

  /** What became of the broadcast's messages (the outreach ledger's counts). */
  async metrics(workspaceId: string, broadcastId: string): Promise<MessageCounts> {
    await this.require(workspaceId, broadcastId);
    return this.deps.ledger.countsByBroadcast(workspaceId, broadcastId);
  }

  /** Stops a broadcast: no message after the chunk in flight (which commits wholly or not at all). */
  async cancel(workspaceId: string, broadcastId: string): Promise<Broadcast> {
    const broadcast = await this.require(workspaceId, broadcastId);
    const cancelled = await this.deps.store.write((trx) => this.deps.repository.cancel(trx, workspaceId, Number(broadcastId), this.deps.clock.now()));
    if (!cancelled) throw BroadcastStateConflict(`Broadcast ${broadcastId} is ${broadcast.state === "sending" || broadcast.state === "scheduled" ? "finished" : broadcast.state}; only a scheduled or sending broadcast can be cancelled.`);
    return (await this.get(workspaceId, broadcastId))!;
  }

  /** Each person's recipient row (tests and support: who got what). */
  async recipients(workspaceId: string, broadcastId: string): Promise<Array<{ personId: string; state: string; detail: string | null; dueAt: number }>> {
    await this.require(workspaceId, broadcastId);
    return this.deps.repository.recipientStates(this.deps.store.db, Number(broadcastId));
  }

  private async require(workspaceId: string, broadcastId: string): Promise<Broadcast> {
    const found = await this.get(workspaceId, broadcastId);
    if (!found) throw BroadcastNotFound(`There is no broadcast ${broadcastId}.`);
    return found;
  }
}

/** When the audience is read: at the send time, or — for local times — when the first zone reaches it. */
function snapshotAt(definition: BroadcastDefinition, now: number): number {
  const s = definition.schedule;
  if (s.kind === "now") return now;
  if (s.kind === "at") return Math.max(now, s.at);
  return Math.max(now, localInstant(s.date, s.time, "UTC") - EARLIEST_ZONE_MS);
}

export function numericId(id: string): number | null {
  return /^\d{1,15}$/.test(id) ? Number(id) : null;
}

export function toBroadcast(row: BroadcastRow): Broadcast {
  return {
    broadcastId: String(row.id),
    workspaceId: row.workspace_id,
    definition: JSON.parse(row.definition_json) as BroadcastDefinition,
    state: row.state,
    progress: { audience: row.audience_size === null ? null : Number(row.audience_size), handled: Number(row.handled), sent: Number(row.sent), skipped: Number(row.skipped), failed: Number(row.failed) },
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}
