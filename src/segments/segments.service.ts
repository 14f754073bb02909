// SegmentsService (segments.port.ts): definitions created, changed and deleted through the App API
// or loaded from the segments folder, and the reads of membership and history. A new or changed
// data-driven segment is marked for filling; the worker role's filler evaluates the people already
// known (segment-upkeep.ts) while the outbox consumer keeps everyone current from then on.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import { SegmentFromFile, SegmentInputInvalid, SegmentNotFound, SegmentNotManual, SegmentPeopleLimit } from "./segments.errors.js";
import type { Page, PeopleReader, PersonIdentifier } from "../people/people.port.js";
import type { Segment, SegmentChange, SegmentMembership, SegmentsService as SegmentsPort } from "./segments.port.js";
import type { SegmentsRepository } from "./segments.repository.js";
import type { SegmentRow } from "./segments.schema.js";
import { parseConditions } from "./segment-definition.js";
import type { MembershipKeeper } from "./membership.keeper.js";

export interface SegmentsDeps {
  store: Store;
  clock: Clock;
  repository: SegmentsRepository;
  keeper: MembershipKeeper;
  people: PeopleReader;
  /** A data-driven segment needs filling: the local filler, if any, starts at once. */
  onFillNeeded?: () => void;
}

/** Customer.io: at most 1,000 people per add_customers / remove_customers call. */
export const MAX_PEOPLE_PER_CALL = 1_000;
const MAX_NAME_BYTES = 255;
const MAX_DESCRIPTION_BYTES = 1_000;
export const MAX_PAGE = 30_000;

export interface SegmentDefinitionInput {
  name: string;
  description?: string;
  conditions?: unknown | null;
}

export class SegmentsService implements SegmentsPort {
  constructor(private readonly deps: SegmentsDeps) {}

  async list(workspaceId: string): Promise<Segment[]> {
    return (await this.deps.repository.list(this.deps.store.db, workspaceId)).map(toSegment);
  }

  async get(workspaceId: string, segmentId: string): Promise<Segment | null> {
    const row = await this.find(workspaceId, segmentId);
    return row ? toSegment(row) : null;
  }

  /** Whether the people known when the segment was defined have all been evaluated. */
  async filled(workspaceId: string, segmentId: string): Promise<boolean> {
    return (await this.require(workspaceId, segmentId)).fill_state === "done";
  }

  async create(workspaceId: string, input: SegmentDefinitionInput): Promise<Segment> {
    return this.insert(workspaceId, input, "api", null);
  }

  async update(workspaceId: string, segmentId: string, input: { name?: string; description?: string; conditions?: unknown | null }): Promise<Segment> {
    const row = await this.require(workspaceId, segmentId);
    if (row.origin === "file") throw SegmentFromFile(`Segment ${segmentId} was loaded from the segments folder; change its file instead.`);
    return this.change(row, input);
  }

  async delete(workspaceId: string, segmentId: string): Promise<void> {
    const row = await this.require(workspaceId, segmentId);
    if (row.origin === "file") throw SegmentFromFile(`Segment ${segmentId} was loaded from the segments folder; remove its file instead.`);
    await this.remove(row);
  }

  async size(workspaceId: string, segmentId: string): Promise<number> {
    const row = await this.require(workspaceId, segmentId);
    return this.deps.repository.count(this.deps.store.db, workspaceId, row.id);
  }

  /**
   * The segment's size at the end of each of the last `buckets` hours or days, oldest first. Derived
   * from segment_history rather than recorded: the history gets every entry and exit with its time in
   * the transaction that changes the membership, so the size at the end of a bucket is the size now
   * less the net changes after it; no snapshot table for a worker to fill, exact for any bucket size.
   */
  async sizeOverTime(workspaceId: string, segmentId: string, options: { bucketMs: number; buckets: number }): Promise<Array<{ at: number; size: number }>> {
    const row = await this.require(workspaceId, segmentId);
    const db = this.deps.store.db;
    const current = Math.floor(this.deps.clock.now() / options.bucketMs);
    const first = current - options.buckets + 1;
    const [size, changes] = await Promise.all([this.deps.repository.count(db, workspaceId, row.id), this.deps.repository.changesPerBucket(db, workspaceId, row.id, (first + 1) * options.bucketMs, options.bucketMs)]);
    const net = new Map<number, number>();
    for (const c of changes) net.set(c.bucket, (net.get(c.bucket) ?? 0) + (c.entered === 1 ? c.n : -c.n));
    const points: Array<{ at: number; size: number }> = [];
    let running = size;
    for (let bucket = current; bucket >= first; bucket--) {
      points.push({ at: (bucket + 1) * options.bucketMs, size: Math.max(0, running) });
      running -= net.get(bucket) ?? 0;
    }
    return points.reverse();
  }

  async members(workspaceId: string, segmentId: string, options: { limit: number; cursor: string | null }): Promise<Page<SegmentMembership>> {
    const row = await this.require(workspaceId, segmentId);
    const limit = checkLimit(options.limit);
    const after = options.cursor === null ? null : decodeCursor(options.cursor);
    const rows = await this.deps.repository.members(this.deps.store.db, workspaceId, row.id, limit + 1, after);
    const items = rows.slice(0, limit).map((m) => ({ segmentId: String(m.segment_id), personId: m.person_id, enteredAt: Number(m.entered_at) }));
    return { items, next: rows.length > limit ? encodeCursor(items[items.length - 1]!.personId) : null };
  }

  async segmentsOf(workspaceId: string, personId: string): Promise<SegmentMembership[]> {
    const rows = await this.deps.repository.segmentsOf(this.deps.store.db, workspaceId, personId);
    return rows.map((m) => ({ segmentId: String(m.segment_id), personId: m.person_id, enteredAt: Number(m.entered_at) }));
  }

  async history(workspaceId: string, personId: string, options: { limit: number }): Promise<SegmentChange[]> {
    const rows = await this.deps.repository.history(this.deps.store.db, workspaceId, personId, checkLimit(options.limit), null);
    return rows.map((r) => ({ segmentId: String(r.segment_id), personId, entered: r.entered === 1, at: Number(r.at) }));
  }

  /** A person's changes with from <= at < to (a bound null: open), newest first: the App API's activities merge them by time. */
  async historyBetween(workspaceId: string, personId: string, range: { from: number | null; to: number | null }, limit: number): Promise<SegmentChange[]> {
    const rows = await this.deps.repository.historyBetween(this.deps.store.db, workspaceId, personId, range.from, range.to, checkLimit(limit));
    return rows.map((r) => ({ segmentId: String(r.segment_id), personId, entered: r.entered === 1, at: Number(r.at) }));
  }

  addPeople(workspaceId: string, segmentId: string, people: PersonIdentifier[]): Promise<void> {
    return this.setManual(workspaceId, segmentId, people, true);
  }

  removePeople(workspaceId: string, segmentId: string, people: PersonIdentifier[]): Promise<void> {
    return this.setManual(workspaceId, segmentId, people, false);
  }

  /**
   * Makes the workspace's file-defined segments those given (the segments folder at start): new
   * files create, changed ones update, missing ones are deleted. Returns what changed.
   */
  async syncFiles(workspaceId: string, definitions: Array<{ fileKey: string } & SegmentDefinitionInput>): Promise<{ created: number; updated: number; deleted: number }> {
    const existing = (await this.deps.repository.fromFiles(this.deps.store.db)).filter((r) => r.workspace_id === workspaceId);
    const byKey = new Map(existing.map((r) => [r.file_key!, r]));
    const counts = { created: 0, updated: 0, deleted: 0 };
    for (const definition of definitions) {
      const row = byKey.get(definition.fileKey);
      byKey.delete(definition.fileKey);
      if (!row) {
        await this.insert(workspaceId, definition, "file", definition.fileKey);
        counts.created += 1;
      } else if (row.name !== definition.name || row.description !== (definition.description ?? "") || row.conditions_json !== conditionsJson(definition.conditions)) {
        await this.change(row, { name: definition.name, description: definition.description ?? "", conditions: definition.conditions ?? null });
        counts.updated += 1;
      }
    }
    for (const gone of byKey.values()) {
      await this.remove(gone);
      counts.deleted += 1;
    }
    return counts;
  }

  /** The workspaces that have file-defined segments (so a workspace whose files all went is cleared too). */
  async workspacesWithFiles(): Promise<string[]> {
    return [...new Set((await this.deps.repository.fromFiles(this.deps.store.db)).map((r) => r.workspace_id))];
  }

  private async insert(workspaceId: string, input: SegmentDefinitionInput, origin: "api" | "file", fileKey: string | null): Promise<Segment> {
    const name = checkText(input.name, "name", MAX_NAME_BYTES, true);
    const description = input.description === undefined ? "" : checkText(input.description, "description", MAX_DESCRIPTION_BYTES, false);
    const data = input.conditions !== undefined && input.conditions !== null;
    if (data) parseConditions(input.conditions);
    const now = this.deps.clock.now();
    const row = {
      workspace_id: workspaceId,
      name,
      description,
      kind: data ? ("data" as const) : ("manual" as const),
      conditions_json: data ? JSON.stringify(input.conditions) : null,
      origin,
      file_key: fileKey,
      fill_state: data ? ("pending" as const) : ("done" as const),
      fill_cursor: null,
      fill_owner: null,
      fill_until: 0,
      created_at: now,
      updated_at: now,
    };
    const id = await this.deps.store.write(async (trx) => {
      const inserted = await this.deps.repository.insert(trx, row);
      await this.deps.repository.bumpRevision(trx);
      return inserted;
    });
    if (data) this.deps.onFillNeeded?.();
    return toSegment({ ...row, id });
  }

  private async change(row: SegmentRow, input: { name?: string; description?: string; conditions?: unknown | null }): Promise<Segment> {
    const name = input.name === undefined ? row.name : checkText(input.name, "name", MAX_NAME_BYTES, true);
    const description = input.description === undefined ? row.description : checkText(input.description, "description", MAX_DESCRIPTION_BYTES, false);
    let conditionsJsonNew = row.conditions_json;
    if (input.conditions !== undefined) {
      if (row.kind === "manual" && input.conditions !== null) throw SegmentInputInvalid("A manual segment has no conditions; create a data-driven segment instead.", { field: "conditions" });
      if (row.kind === "data") {
        if (input.conditions === null) throw SegmentInputInvalid("A data-driven segment needs conditions.", { field: "conditions" });
        parseConditions(input.conditions);
        conditionsJsonNew = JSON.stringify(input.conditions);
      }
    }
    const redefined = conditionsJsonNew !== row.conditions_json;
    // A distinct time, so a filler of the old definition cannot record progress for the new one (saveFill checks it).
    const now = Math.max(this.deps.clock.now(), Number(row.updated_at) + 1);
    await this.deps.store.write(async (trx) => {
      await this.deps.repository.update(trx, row.id, {
        name,
        description,
        conditions_json: conditionsJsonNew,
        updated_at: now,
        ...(redefined ? { fill_state: "pending" as const, fill_cursor: null, fill_owner: null, fill_until: 0 } : {}),
      });
      if (redefined) {
        // The kept state belongs to the old conditions' paths; the filler reads it afresh.
        await this.deps.repository.clearState(trx, row.id, null);
        await this.deps.repository.clearTimers(trx, row.id);
        await this.deps.repository.bumpRevision(trx);
      }
    });
    if (redefined) this.deps.onFillNeeded?.();
    return toSegment({ ...row, name, description, conditions_json: conditionsJsonNew, updated_at: now });
  }

  private async remove(row: SegmentRow): Promise<void> {
    await this.deps.store.write(async (trx) => {
      await this.deps.keeper.leaveAll(trx, row.workspace_id, row.id, this.deps.clock.now());
      await this.deps.repository.delete(trx, row.id);
      await this.deps.repository.bumpRevision(trx);
    });
  }

  private async setManual(workspaceId: string, segmentId: string, people: PersonIdentifier[], add: boolean): Promise<void> {
    const row = await this.require(workspaceId, segmentId);
    if (row.kind !== "manual") throw SegmentNotManual(`Segment ${segmentId} is data-driven; people are added to manual segments only.`);
    if (people.length > MAX_PEOPLE_PER_CALL) throw SegmentPeopleLimit(`At most ${MAX_PEOPLE_PER_CALL} people per call (${people.length} given).`, { field: "ids" });
    const personIds = new Set<string>();
    for (const who of people) {
      const person = await this.deps.people.find(workspaceId, who);
      if (person) personIds.add(person.personId);
    }
    if (personIds.size > 0) await this.deps.keeper.setManual(workspaceId, row.id, [...personIds], add);
  }

  private async find(workspaceId: string, segmentId: string): Promise<SegmentRow | null> {
    if (!/^\d{1,15}$/.test(segmentId)) return null;
    return this.deps.repository.find(this.deps.store.db, workspaceId, Number(segmentId));
  }

  private async require(workspaceId: string, segmentId: string): Promise<SegmentRow> {
    const row = await this.find(workspaceId, segmentId);
    if (!row) throw SegmentNotFound(`There is no segment ${segmentId}.`);
    return row;
  }
}

function conditionsJson(conditions: unknown): string | null {
  return conditions === undefined || conditions === null ? null : JSON.stringify(conditions);
}

function checkText(value: unknown, field: string, maxBytes: number, required: boolean): string {
  if (typeof value !== "string") throw SegmentInputInvalid(`The segment's ${field} must be a string.`, { field });
  if (required && value.trim() === "") throw SegmentInputInvalid(`The segment's ${field} must not be empty.`, { field });
  if (Buffer.byteLength(value) > maxBytes) throw SegmentInputInvalid(`The segment's ${field} must be at most ${maxBytes} bytes.`, { field });
  return value;
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw SegmentInputInvalid(`limit must be a whole number from 1 to ${MAX_PAGE}.`, { field: "limit" });
  return limit;
}

function encodeCursor(personId: string): string {
  return Buffer.from(personId, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, "base64url").toString("utf8");
  if (decoded === "" || encodeCursor(decoded) !== cursor) throw SegmentInputInvalid("The start cursor is not one this API gave.", { field: "start" });
  return decoded;
}

export function toSegment(row: SegmentRow): Segment {
  return {
    segmentId: String(row.id),
    workspaceId: row.workspace_id,
    name: row.name,
    description: row.description,
    kind: row.kind,
    conditions: row.conditions_json === null ? null : (JSON.parse(row.conditions_json) as unknown),
    origin: row.origin,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
