// API-triggered broadcasts (Customer.io's triggerBroadcast): a call is checked, limited and
// recorded here, answered with the trigger's id, and carried out by the worker role
// (broadcast-trigger.processor.ts), which enters the named people into the journey in chunks.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { JourneysService } from "../journeys/journeys.port.js";
import type { JourneyId } from "../journeys/journey.model.js";
import { JourneyNotFound, JourneyStateConflict } from "../journeys/journeys.errors.js";
import { BroadcastTriggerNotFound, BroadcastTriggerTooBusy } from "./broadcasts.errors.js";
import type { BroadcastsRepository } from "./broadcasts.repository.js";
import type { BroadcastTriggerRow } from "./broadcasts.schema.js";
import type { BroadcastTrigger } from "./broadcasts.types.js";
import { parseTriggerRequest } from "./trigger-request.js";
import { numericId } from "./broadcasts.service.js";

/** Customer.io: one API-triggered broadcast per 10 s per campaign. */
export const TRIGGER_GAP_MS = 10_000;
/** Customer.io: at most 5 triggers waiting to be processed per campaign. */
export const MAX_WAITING_TRIGGERS = 5;

export interface BroadcastTriggersServiceDeps {
  store: Store;
  clock: Clock;
  repository: BroadcastsRepository;
  journeys: Pick<JourneysService, "get">;
  /** A trigger was stored: the local worker, if any, starts on it at once. */
  onStored?: () => void;
}

export class BroadcastTriggersService {
  constructor(private readonly deps: BroadcastTriggersServiceDeps) {}

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
