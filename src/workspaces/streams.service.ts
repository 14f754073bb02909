// A workspace's message streams, as Postmark's Message Streams API manages them: listed, created,
// edited, archived and unarchived. Postmark's rules hold here, not at the edge: at most
// MAX_STREAMS per workspace counting the default and archived ones, one inbound stream, an ID
// that is never changed (nor the type), default streams that cannot be archived, and broadcast
// streams that always have unsubscribe handling (ours or the sender's own).
//
// An archived stream refuses mail on both doors (assertSendableStream in workspaces.service.ts);
// the process that archives it forgets its cached verdict at once, other processes within the
// stream cache's lifetime (STREAM_CACHE_MS there). Archived streams are not purged: Postmark
// purges them after ARCHIVE_RETENTION_MS and says when (ExpectedPurgeDate), Posthorn shows the
// same date but keeps the stream and its messages, so it can be unarchived at any time.
import type { Store } from "../store/store.js";
import type { StreamsTable } from "../store/schema.js";
import type { Clock } from "../shared/clock.js";
import type { LinkTracking } from "../messages/message.types.js";
import { DEFAULT_STREAM_IDS } from "./default-streams.js";
import { InboundStreamExists, StreamArchived, StreamExists, StreamInvalid, StreamLimitReached, StreamNotArchivable, StreamNotFound, StreamNotSendable } from "./workspaces.errors.js";
import { StreamsRepository, type StreamRow } from "./streams.repository.js";

export type StreamType = StreamsTable["type"];
/** none: no unsubscribe handling; posthorn: our link, header and page; custom: the sender's own. */
export type UnsubscribeHandling = "none" | "posthorn" | "custom";

export interface Stream {
  workspaceId: string;
  id: string;
  name: string;
  description: string | null;
  type: StreamType;
  createdAt: number;
  updatedAt: number | null;
  archivedAt: number | null;
  /** When Postmark would purge the archived stream (archivedAt + 45 days); null when not archived. */
  purgeAt: number | null;
  unsubscribeHandling: UnsubscribeHandling;
  /** Tracking defaults of the stream's mail; null follows the workspace's. */
  trackOpens: boolean | null;
  trackLinks: LinkTracking | null;
}

/** The tracking defaults a create or edit may set: undefined leaves them, null follows the workspace. */
export interface StreamTrackingInput {
  trackOpens?: unknown;
  trackLinks?: unknown;
}

/** Postmark: "A Server may have up to 10 Streams, including the default ones." Archived streams count (they can come back). */
export const MAX_STREAMS = 10;
/** Postmark purges an archived stream 45 days after it was archived. */
export const ARCHIVE_RETENTION_MS = 45 * 86_400_000;
/** Stream IDs: lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 30 characters. */
const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,29}$/;
const NAME_MAX = 100;
const DESCRIPTION_MAX = 1000;
const TYPES: readonly StreamType[] = ["Transactional", "Broadcasts", "Inbound"];
const HANDLINGS: readonly UnsubscribeHandling[] = ["none", "posthorn", "custom"];
const LINK_TRACKINGS: readonly LinkTracking[] = ["none", "html-and-text", "html-only", "text-only"];

export interface StreamsDeps {
  store: Store;
  clock: Clock;
  /** Called after a stream's sendability changed, so cached verdicts go at once. */
  onChanged: (workspaceId: string, streamId: string) => void;
}

export class StreamsService {
  private readonly repo = new StreamsRepository();

  constructor(private readonly deps: StreamsDeps) {}

  async list(workspaceId: string, filter: { type: StreamType | null; includeArchived: boolean }): Promise<Stream[]> {
    const rows = await this.repo.list(this.deps.store.db, workspaceId, filter);
    return rows.map(toStream);
  }

  async get(workspaceId: string, streamId: string): Promise<Stream> {
    return toStream(await this.mustFind(workspaceId, streamId));
  }

  /** Checks that a stream exists and carries outbound mail (archived or not): suppressions belong to such streams. */
  async assertOutbound(workspaceId: string, streamId: string): Promise<void> {
    const stream = await this.get(workspaceId, streamId);
    if (stream.type === "Inbound") throw StreamNotSendable(`The message stream '${streamId}' is an inbound stream; it has no suppressions.`);
  }

  /** Creates a stream; every field is checked here (the edge passes what the client sent). */
  async create(workspaceId: string, input: { id: unknown; name: unknown; type: unknown; description?: unknown; unsubscribeHandling?: unknown } & StreamTrackingInput): Promise<Stream> {
    const id = checkId(input.id);
    const name = checkName(input.name);
    if (typeof input.type !== "string" || !TYPES.includes(input.type as StreamType)) {
      throw StreamInvalid(`'MessageStreamType' must be Transactional, Broadcasts or Inbound.`);
    }
    const type = input.type as StreamType;
    const description = checkDescription(input.description);
    const handling = checkHandling(type, input.unsubscribeHandling, type === "Broadcasts" ? "posthorn" : "none");
    const now = this.deps.clock.now();
    await this.deps.store.write(async (trx) => {
      if (await this.repo.find(trx, workspaceId, id)) throw StreamExists(`A message stream with the ID '${id}' already exists.`);
      const counts = await this.repo.counts(trx, workspaceId);
      if (counts.all >= MAX_STREAMS) throw StreamLimitReached(`A workspace may have at most ${MAX_STREAMS} message streams, counting the default and archived ones.`);
      if (type === "Inbound" && counts.inbound > 0) throw InboundStreamExists("A workspace may have only one inbound stream.");
      // UpdatedAt stays null until the first edit, as Postmark's is.
      await this.repo.insert(trx, { workspace_id: workspaceId, id, name, type, created_at: now, description, updated_at: null, unsubscribe_handling: handling, ...trackingColumns(input) });
    });
    return this.get(workspaceId, id);
  }

  /** Changes the name, description or unsubscribe handling; undefined leaves a field as it is. ID and type never change. */
  async edit(workspaceId: string, streamId: string, input: { name?: unknown; description?: unknown; unsubscribeHandling?: unknown } & StreamTrackingInput): Promise<Stream> {
    await this.deps.store.write(async (trx) => {
      const row = await this.mustFind(workspaceId, streamId, trx);
      if (row.archived_at !== null) throw StreamArchived(`The message stream '${streamId}' is archived; unarchive it to edit it.`);
      const changes: { name?: string; description?: string | null; unsubscribe_handling?: string; track_opens?: number | null; track_links?: string | null; updated_at: number } = { updated_at: this.deps.clock.now(), ...trackingColumns(input) };
      if (input.name !== undefined) changes.name = checkName(input.name);
      if (input.description !== undefined) changes.description = checkDescription(input.description);
      if (input.unsubscribeHandling !== undefined) changes.unsubscribe_handling = checkHandling(row.type, input.unsubscribeHandling, row.unsubscribe_handling as UnsubscribeHandling);
      await this.repo.update(trx, workspaceId, streamId, changes);
    });
    return this.get(workspaceId, streamId);
  }

  /** Archives a stream: it refuses mail from now on. Archiving an archived stream changes nothing. */
  async archive(workspaceId: string, streamId: string): Promise<Stream> {
    await this.deps.store.write(async (trx) => {
      const row = await this.mustFind(workspaceId, streamId, trx);
      if (DEFAULT_STREAM_IDS.includes(row.id)) throw StreamNotArchivable(`The default stream '${row.id}' cannot be archived.`);
      if (row.archived_at !== null) return;
      const now = this.deps.clock.now();
      await this.repo.update(trx, workspaceId, streamId, { archived_at: now, updated_at: now });
    });
    this.deps.onChanged(workspaceId, streamId);
    return this.get(workspaceId, streamId);
  }

  /** Brings an archived stream back; unarchiving a stream that is not archived changes nothing. */
  async unarchive(workspaceId: string, streamId: string): Promise<Stream> {
    await this.deps.store.write(async (trx) => {
      const row = await this.mustFind(workspaceId, streamId, trx);
      if (row.archived_at === null) return;
      await this.repo.update(trx, workspaceId, streamId, { archived_at: null, updated_at: this.deps.clock.now() });
    });
    this.deps.onChanged(workspaceId, streamId);
    return this.get(workspaceId, streamId);
  }

  private async mustFind(workspaceId: string, streamId: string, db = this.deps.store.db): Promise<StreamRow> {
    const row = await this.repo.find(db, workspaceId, streamId);
    if (!row) throw StreamNotFound(`The message stream '${streamId}' was not found.`);
    return row;
  }
}

function toStream(row: StreamRow): Stream {
  return {
    workspaceId: row.workspace_id,
    id: row.id,
    name: row.name,
    description: row.description,
    type: row.type,
    createdAt: Number(row.created_at),
    updatedAt: row.updated_at === null ? null : Number(row.updated_at),
    archivedAt: row.archived_at === null ? null : Number(row.archived_at),
    purgeAt: row.archived_at === null ? null : Number(row.archived_at) + ARCHIVE_RETENTION_MS,
    unsubscribeHandling: (HANDLINGS.includes(row.unsubscribe_handling as UnsubscribeHandling) ? row.unsubscribe_handling : "none") as UnsubscribeHandling,
    trackOpens: row.track_opens === null ? null : row.track_opens === 1,
    trackLinks: row.track_links !== null && LINK_TRACKINGS.includes(row.track_links as LinkTracking) ? (row.track_links as LinkTracking) : null,
  };
}

/** The tracking columns an input sets (only those it names), checked. */
function trackingColumns(input: StreamTrackingInput): { track_opens?: number | null; track_links?: string | null } {
  const columns: { track_opens?: number | null; track_links?: string | null } = {};
  if (input.trackOpens !== undefined) {
    if (input.trackOpens !== null && typeof input.trackOpens !== "boolean") throw StreamInvalid("'TrackOpens' must be true, false or null (follow the server's setting).");
    columns.track_opens = input.trackOpens === null ? null : input.trackOpens ? 1 : 0;
  }
  if (input.trackLinks !== undefined) {
    if (input.trackLinks !== null && !LINK_TRACKINGS.includes(input.trackLinks as LinkTracking)) throw StreamInvalid("'TrackLinks' must be None, HtmlAndText, HtmlOnly, TextOnly or null (follow the server's setting).");
    columns.track_links = input.trackLinks as string | null;
  }
  return columns;
}

function checkId(value: unknown): string {
  if (typeof value !== "string" || !ID_PATTERN.test(value)) {
    throw StreamInvalid("'ID' must be 1–30 characters: lower-case letters, digits, '-' and '_', starting with a letter or digit.");
  }
  return value;
}

function checkName(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "" || value.length > NAME_MAX) throw StreamInvalid(`'Name' is required and at most ${NAME_MAX} characters.`);
  return value.trim();
}

function checkDescription(value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string" || value.length > DESCRIPTION_MAX) throw StreamInvalid(`'Description' must be text of at most ${DESCRIPTION_MAX} characters.`);
  return value;
}

/** Broadcast streams must handle unsubscribes (ours or custom); transactional and inbound streams have none. */
function checkHandling(type: StreamType, value: unknown, fallback: UnsubscribeHandling): UnsubscribeHandling {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string" || !HANDLINGS.includes(value as UnsubscribeHandling)) throw StreamInvalid("The unsubscribe handling must be None, Postmark or Custom.");
  const handling = value as UnsubscribeHandling;
  if (type === "Broadcasts" && handling === "none") throw StreamInvalid("Broadcast streams must handle unsubscribes: UnsubscribeHandlingType must be Postmark or Custom.");
  if (type !== "Broadcasts" && handling !== "none") throw StreamInvalid(`${type} streams have no unsubscribe handling: UnsubscribeHandlingType must be None.`);
  return handling;
}
