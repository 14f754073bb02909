// Domain events and the outbox (src/events/), and the stream of each delivery. One append-only table of every event, in Posthorn's
// words, replaces message_events (which held Postmark's: "Transient", "DeliveryMessage", …): a
// message's timeline is its events, and consumers (webhooks, stats, journeys) read the same rows
// in order with a durable cursor each (outbox_cursors).
//
// On PostgreSQL each event also records the id of the transaction that wrote it (tx). Ids come
// from a sequence, so a transaction that commits late can leave a lower id visible after a higher
// one; consumers therefore read in (tx, id) order and only below the oldest transaction still
// running in this database (src/events/visible-horizon.ts), where no row can appear any more. SQLite has one writer: id order is
// commit order there, and tx stays 0.
//
// The old message_events rows are converted into their events here; a bounce or complaint that
// had a BounceID also gets its bounce.recorded / complaint.recorded event, as new ones do.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

const CHUNK = 200;

export function events(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("events")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("tx", t.bigint, (c) => c.notNull().defaultTo(dialect === "postgres" ? sql`(pg_current_xact_id()::text::bigint)` : 0))
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("message_id", "text")
        .addColumn("recipient", "text")
        .addColumn("data_json", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("events_message").on("events").column("message_id").execute();
      if (dialect === "postgres") await db.schema.createIndex("events_position").on("events").columns(["tx", "id"]).execute();

      await db.schema
        .createTable("outbox_cursors")
        .addColumn("consumer", "text", (c) => c.primaryKey())
        .addColumn("position_tx", t.bigint, (c) => c.notNull())
        .addColumn("position_id", t.bigint, (c) => c.notNull())
        .addColumn("lease_owner", "text")
        .addColumn("lease_until", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();

      // Every delivery event names its stream; the delivery knows it instead of a join each time.
      await db.schema.alterTable("deliveries").addColumn("stream", "text", (c) => c.notNull().defaultTo("outbound")).execute();
      await sql`update deliveries set stream = (select m.stream from messages m where m.id = deliveries.message_id) where exists (select 1 from messages m where m.id = deliveries.message_id)`.execute(db);

      await convertHistory(db, dialect);
      await db.schema.dropTable("message_events").execute();
    },
  };
}

interface OldEvent {
  id: number;
  message_id: string;
  workspace_id: string;
  recipient: string;
  type: string;
  details_json: string;
  created_at: number;
  stream: string | null;
}

type Details = Record<string, unknown>;

async function convertHistory(db: Db, dialect: Dialect): Promise<void> {
  let nextId = 1;
  let after = 0;
  for (;;) {
    const old = (await db
      .selectFrom("message_events as e")
      .leftJoin("messages as m", "m.id", "e.message_id")
      .select(["e.id", "e.message_id", "e.workspace_id", "e.recipient", "e.type", "e.details_json", "e.created_at", "m.stream"])
      .where("e.id", ">", after)
      .orderBy("e.id")
      .limit(CHUNK)
      .execute()) as OldEvent[];
    if (old.length === 0) break;
    after = Number(old[old.length - 1]!.id);
    const rows = [];
    for (const e of old) {
      for (const [type, data] of convert(e)) {
        const id = nextId++;
        // A follow-up record points at the event before it, its cause.
        const withCause = type === "bounce.recorded" || type === "complaint.recorded" ? { ...data, cause: id - 1 } : data;
        rows.push({ id, type, workspace_id: e.workspace_id, message_id: e.message_id, recipient: e.recipient, data_json: JSON.stringify(withCause), created_at: Number(e.created_at) });
      }
    }
    if (rows.length > 0) await db.insertInto("events").values(rows).execute();
  }
  if (dialect === "postgres" && nextId > 1) await sql`select setval(pg_get_serial_sequence('events', 'id'), ${nextId - 1})`.execute(db);
}

/** One old event as the new event(s) it stands for. */
function convert(e: OldEvent): Array<[string, Details]> {
  const d = JSON.parse(e.details_json) as Details;
  const stream = e.stream ?? "outbound";
  const reply = String(d.DeliveryMessage ?? "");
  const replyCode = /^(\d{3})[ -](?:([245]\.\d{1,3}\.\d{1,3}) )?/.exec(reply);
  const attempt = () => ({ reply, code: replyCode ? Number(replyCode[1]) : null, enhanced: replyCode?.[2] ?? null, remoteHost: (d.DestinationServer as string) || null, remoteIp: (d.DestinationIP as string) || null, tls: d.Tls === true });
  const summary = String(d.Summary ?? "");
  const bounce = (bounceType: string): Array<[string, Details]> => (d.BounceID ? [["bounce.recorded", { bounceId: Number(d.BounceID), bounceType, stream }]] : []);
  switch (e.type) {
    case "Suppressed":
      return [["delivery.suppressed", { stream }]];
    case "Delivered":
      return [["delivery.delivered", { stream, attempt: attempt() }]];
    case "Transient":
      if (d.Origin === "report") return [["delivery.delayed", { stream, summary }], ...bounce("Transient")];
      return [["delivery.deferred", { stream, attempt: attempt(), nextAttemptAt: Date.parse(String(d.NextAttemptAt)) || Number(e.created_at) }]];
    case "SpamComplaint": {
      const feedbackType = /^Feedback-Type: ([^;]+)/.exec(summary)?.[1] ?? "abuse";
      return [["delivery.complained", { stream, feedbackType, summary }], ...(d.BounceID ? [["complaint.recorded", { bounceId: Number(d.BounceID), stream }] as [string, Details]] : [])];
    }
    case "Bounced": {
      if (d.Origin === "report" && d.BounceType === "AutoResponder") return [["delivery.auto-replied", { stream, summary }], ...bounce("AutoResponder")];
      if (d.Origin === "report") return [["delivery.bounced", { stream, origin: "report", bounceType: d.BounceType ?? "HardBounce", summary, attempt: null }], ...bounce(String(d.BounceType ?? "HardBounce"))];
      const gaveUp = /^Gave up after (\d+) attempts/.exec(summary);
      if (gaveUp) return [["delivery.expired", { stream, attempts: Number(gaveUp[1]), summary, attempt: attempt() }], ...bounce("SoftBounce")];
      if (summary.startsWith("Purged from the queue")) return [["delivery.bounced", { stream, origin: "operator", bounceType: "Unknown", summary, attempt: null }], ...bounce("Unknown")];
      return [["delivery.bounced", { stream, origin: "session", bounceType: d.BounceType ?? "Unknown", summary, attempt: attempt() }], ...bounce(String(d.BounceType ?? "Unknown"))];
    }
    default:
      return [];
  }
}
