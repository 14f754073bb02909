// All SQL of the tracking domain: the settings that decide what a message gets (read from the
// workspace and stream rows, which the workspaces domain owns and writes), the message a token
// names, and the opens and clicks (tracked_reads) with Postmark's filters.
import type { Db } from "../store/store.js";
import type { TrackedReadsTable } from "../store/schema.js";
import type { Insertable, Selectable } from "kysely";

export type TrackedReadRow = Selectable<TrackedReadsTable>;

export interface WorkspaceTrackingRow {
  track_opens: number;
  track_links: string;
}

/** What a tracking token's message is, for recording a read. */
export interface TrackedMessage {
  workspaceId: string;
  stream: string;
  tag: string | null;
  /** The one recipient the message was delivered to, or null when it had several. */
  recipient: string | null;
}

export interface ReadFilter {
  workspaceId: string;
  kind: "open" | "click";
  messageId?: string;
  recipient?: string;
  tag?: string;
  stream?: string;
  clientName?: string;
  clientCompany?: string;
  clientFamily?: string;
  osName?: string;
  osFamily?: string;
  osCompany?: string;
  platform?: string;
  country?: string;
  region?: string;
  city?: string;
}

export class TrackingRepository {
  async workspaceSettings(db: Db, workspaceIds: string[]): Promise<Map<string, WorkspaceTrackingRow>> {
    if (workspaceIds.length === 0) return new Map();
    const rows = await db.selectFrom("workspaces").select(["id", "track_opens", "track_links"]).where("id", "in", workspaceIds).execute();
    return new Map(rows.map((r) => [r.id, { track_opens: r.track_opens, track_links: r.track_links }]));
  }

  /** The unsubscribe handling of each (workspace, stream) asked for, keyed "workspace\0stream"; only Broadcasts streams can have one. */
  async unsubscribeHandling(db: Db, workspaceIds: string[]): Promise<Map<string, string>> {
    if (workspaceIds.length === 0) return new Map();
    const rows = await db
      .selectFrom("streams")
      .select(["workspace_id", "id", "unsubscribe_handling"])
      .where("workspace_id", "in", workspaceIds)
      .where("type", "=", "Broadcasts")
      .execute();
    return new Map(rows.map((r) => [`${r.workspace_id}\u0000${r.id}`, r.unsubscribe_handling]));
  }

  /** The streams of these workspaces that set their own tracking defaults, by workspace and stream id. */
  async streamTracking(db: Db, workspaceIds: string[]): Promise<Map<string, { track_opens: number | null; track_links: string | null }>> {
    if (workspaceIds.length === 0) return new Map();
    const rows = await db
      .selectFrom("streams")
      .select(["workspace_id", "id", "track_opens", "track_links"])
      .where("workspace_id", "in", workspaceIds)
      .where((eb) => eb.or([eb("track_opens", "is not", null), eb("track_links", "is not", null)]))
      .execute();
    return new Map(rows.map((r) => [`${r.workspace_id}\u0000${r.id}`, { track_opens: r.track_opens, track_links: r.track_links }]));
  }

  /**
   * The message a token names, with the recipient a read is attributed to: the delivery's the
   * token was made for (null, so nothing at all, when that delivery is not the message's), else
   * the message's only live recipient, else none.
   */
  async message(db: Db, messageId: string, deliveryId?: number): Promise<TrackedMessage | null> {
    const message = await db.selectFrom("messages").select(["workspace_id", "stream", "tag"]).where("id", "=", messageId).executeTakeFirst();
    if (!message) return null;
    if (deliveryId !== undefined) {
      const one = await db.selectFrom("deliveries").select("recipient").where("id", "=", deliveryId).where("message_id", "=", messageId).executeTakeFirst();
      return one ? { workspaceId: message.workspace_id, stream: message.stream, tag: message.tag, recipient: one.recipient } : null;
    }
    const deliveries = await db.selectFrom("deliveries").select(["recipient", "state"]).where("message_id", "=", messageId).limit(51).execute();
    const live = deliveries.filter((d) => d.state !== "suppressed");
    const only = deliveries.length === 1 ? deliveries[0]! : live.length === 1 ? live[0]! : null;
    return { workspaceId: message.workspace_id, stream: message.stream, tag: message.tag, recipient: only?.recipient ?? null };
  }

  /** Whether the delivery already has an open (or, with a link, a click on that link); proxied fetches do not count. */
  async hasHumanRead(db: Db, q: { workspaceId: string; messageId: string; recipient: string | null; kind: "open" | "click"; link?: string }): Promise<boolean> {
    let query = db
      .selectFrom("tracked_reads")
      .select("id")
      .where("workspace_id", "=", q.workspaceId)
      .where("message_id", "=", q.messageId)
      .where("kind", "=", q.kind)
      .where("proxied", "=", 0);
    query = q.recipient === null ? query.where("recipient", "is", null) : query.where("recipient", "=", q.recipient);
    if (q.link !== undefined) query = query.where("link", "=", q.link);
    return (await query.limit(1).executeTakeFirst()) !== undefined;
  }

  /** Inserts a read and returns its id. */
  async insertRead(db: Db, row: Insertable<TrackedReadsTable>): Promise<number> {
    const inserted = await db.insertInto("tracked_reads").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  /** Sets an open's read time once; the open as it was (null when it is not an open or already has one). */
  async setReadSeconds(db: Db, id: number, seconds: number): Promise<{ workspace_id: string; message_id: string; recipient: string | null; stream: string } | null> {
    const updated = await db
      .updateTable("tracked_reads")
      .set({ read_seconds: seconds })
      .where("id", "=", id)
      .where("kind", "=", "open")
      .where("read_seconds", "is", null)
      .returning(["workspace_id", "message_id", "recipient", "stream"])
      .executeTakeFirst();
    return updated ?? null;
  }

  async search(db: Db, filter: ReadFilter, page: { count: number; offset: number }): Promise<{ total: number; rows: TrackedReadRow[] }> {
    let query = db.selectFrom("tracked_reads").where("workspace_id", "=", filter.workspaceId).where("kind", "=", filter.kind);
    if (filter.messageId !== undefined) query = query.where("message_id", "=", filter.messageId);
    const recipient = filter.recipient?.toLowerCase();
    if (recipient !== undefined) query = query.where((eb) => eb(eb.fn("lower", ["recipient"]), "=", recipient));
    if (filter.tag !== undefined) query = query.where("tag", "=", filter.tag);
    if (filter.stream !== undefined) query = query.where("stream", "=", filter.stream);
    const exact: Array<[keyof ReadFilter, "client_name" | "client_company" | "client_family" | "os_name" | "os_family" | "os_company" | "platform" | "country" | "region" | "city"]> = [
      ["clientName", "client_name"],
      ["clientCompany", "client_company"],
      ["clientFamily", "client_family"],
      ["osName", "os_name"],
      ["osFamily", "os_family"],
      ["osCompany", "os_company"],
      ["platform", "platform"],
      ["country", "country"],
      ["region", "region"],
      ["city", "city"],
    ];
    for (const [key, column] of exact) {
      const value = filter[key];
      if (value !== undefined) query = query.where(column, "=", value);
    }
    const total = await query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const rows = await query.selectAll().orderBy("at", "desc").orderBy("id", "desc").limit(page.count).offset(page.offset).execute();
    return { total: Number(total.n), rows };
  }
}
