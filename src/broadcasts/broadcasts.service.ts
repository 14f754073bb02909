// BroadcastsService: newsletters defined, listed, read and cancelled (the App API's
// /v1/broadcasts), and API-triggered broadcasts recorded for the worker role to carry out
// (triggerBroadcast). Defining only stores: the worker role's processors do the sending and the
// entering, in chunks, under claims (broadcast.processor.ts, broadcast-trigger.processor.ts).
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { SegmentsService } from "../segments/segments.port.js";
import type { JourneysService } from "../journeys/journeys.port.js";
import type { JourneyId } from "../journeys/journey.model.js";
import type { MessageCounts } from "../journeys/journeys.port.js";
import type { OutreachLedger } from "../channels/email/outreach.port.js";
import { JourneyNotFound, JourneyStateConflict } from "../journeys/journeys.errors.js";
import { BroadcastInvalid, BroadcastNotFound, BroadcastStateConflict, BroadcastTriggerNotFound, BroadcastTriggerTooBusy } from "./broadcasts.errors.js";
import type { BroadcastsRepository } from "./broadcasts.repository.js";
import type { BroadcastRow, BroadcastTriggerRow } from "./broadcasts.schema.js";
import type { Broadcast, BroadcastDefinition, BroadcastTrigger } from "./broadcasts.types.js";
import { parseBroadcast } from "./broadcast-definition.js";
import { parseTriggerRequest } from "./trigger-request.js";
import { segmentIds } from "./audience.reader.js";
import { EARLIEST_ZONE_MS, localInstant } from "./local-time.js";

/** Customer.io: one API-triggered broadcast per 10 s per campaign. */
export const TRIGGER_GAP_MS = 10_000;
/** Customer.io: at most 5 triggers waiting to be processed per campaign. */
export const MAX_WAITING_TRIGGERS = 5;
const MAX_LIST = 100;

export interface BroadcastsServiceDeps {
  store: Store;
  clock: Clock;
  repository: BroadcastsRepository;
  segments: Pick<SegmentsService, "get">;
  journeys: Pick<JourneysService, "get">;
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

  /**
   * Records an API-triggered broadcast of journey `journeyId` (live, with a broadcast trigger) for
   * the people the body names; answered at once, entered in the background. At most one per 10 s
   * and 5 waiting per campaign (BROADCAST_TRIGGER_TOO_BUSY).
   */
  async trigger(workspaceId: string, journeyId: JourneyId, body: unknown): Promise<BroadcastTrigger> {
    const { store, clock, repository } = this.deps;
    const journey = await this.deps.journeys.get(workspaceId, journeyId);
    if (!journey) throw JourneyNotFound(`There is no campaign (journey) ${journeyId}.`);
    if (journey.definition.trigger.kind !== "broadcast") throw JourneyStateConflict(`Journey ${journeyId} is not an API-triggered broadcast (its trigger is ${journey.definition.trigger.kind}).`);
    if (journey.state !== "live") throw JourneyStateConflict(`Journey ${journeyId} is ${journey.state}; only a live journey can be triggered.`);
    const request = parseTriggerRequest(body);
    const now = clock.now();
    const id = await store.write(async (trx) => {
      if ((await repository.unfinishedTriggers(trx, workspaceId, journeyId)) >= MAX_WAITING_TRIGGERS) throw BroadcastTriggerTooBusy(`Campaign ${journeyId} already has ${MAX_WAITING_TRIGGERS} triggers waiting to be processed.`);
      if (!(await repository.passGate(trx, workspaceId, journeyId, now, TRIGGER_GAP_MS))) throw BroadcastTriggerTooBusy(`Campaign ${journeyId} was triggered less than ${TRIGGER_GAP_MS / 1000} seconds ago (one trigger per 10 seconds).`);
      return repository.insertTrigger(trx, {
        workspace_id: workspaceId,
        journey_id: journeyId,
        request_json: JSON.stringify(request),
        state: "pending",
        phase: request.audience.kind !== "filter" && !request.audience.ignoreMissing ? "check" : "enter",
        position: null,
        total: 0,
        entered: 0,
        skipped: 0,
        missing: 0,
        errors_json: "[]",
        next_run_at: now,
        created_at: now,
        updated_at: now,
        processed_at: null,
      });
    });
    this.deps.onStored?.();
    return (await this.triggerStatus(workspaceId, journeyId, String(id)))!;
  }

  async triggerStatus(workspaceId: string, journeyId: JourneyId, triggerId: string): Promise<BroadcastTrigger> {
    const id = numericId(triggerId);
    const row = id === null ? null : await this.deps.repository.findTrigger(this.deps.store.db, workspaceId, journeyId, id);
    if (!row) throw BroadcastTriggerNotFound(`Campaign ${journeyId} has no trigger ${triggerId}.`);
    return toTrigger(row);
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

function numericId(id: string): number | null {
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

function toTrigger(row: BroadcastTriggerRow): BroadcastTrigger {
  return {
    triggerId: String(row.id),
    workspaceId: row.workspace_id,
    journeyId: row.journey_id,
    state: row.state,
    total: Number(row.total),
    entered: Number(row.entered),
    skipped: Number(row.skipped),
    missing: Number(row.missing),
    errors: JSON.parse(row.errors_json) as string[],
    createdAt: Number(row.created_at),
    processedAt: row.processed_at === null ? null : Number(row.processed_at),
  };
}
