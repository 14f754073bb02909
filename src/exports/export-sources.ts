// Where an export's rows come from, one page at a time in a stable order, so a page's cursor,
// committed with the rows it produced, says exactly where to go on after a crash:
// - customers: the broadcast audience reader (people paged by id, or a required segment's members
//   paged by person id, the rest of the filter tested on each) — the same reading a broadcast does;
// - deliveries: the outreach ledger's mail of one newsletter, oldest first, narrowed by time and
//   status, with the people it went to read in one go for their attribute columns.
import type { AudienceReader } from "../broadcasts/audience.reader.js";
import type { OutreachLedger } from "../channels/email/outreach.port.js";
import type { PeopleReader } from "../people/people.port.js";
import { CUSTOMER_COLUMNS, type StoredRow } from "./export-file.js";
import type { ExportRequest } from "./exports.types.js";

export interface SourcePage {
  rows: StoredRow[];
  /** Attribute names seen on this page (customers). */
  attributes: string[];
  next: string | null;
}

export interface ExportSourcesDeps {
  audience: Pick<AudienceReader, "page">;
  ledger: Pick<OutreachLedger, "broadcastMail">;
  people: Pick<PeopleReader, "getMany">;
}

const FIXED = new Set<string>(CUSTOMER_COLUMNS);
const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export class ExportSources {
  constructor(private readonly deps: ExportSourcesDeps) {}

  async page(workspaceId: string, request: ExportRequest, cursor: string | null, limit: number): Promise<SourcePage> {
    return request.kind === "customers" ? this.customers(workspaceId, request, cursor, limit) : this.deliveries(workspaceId, request, cursor, limit);
  }

  private async customers(workspaceId: string, request: Extract<ExportRequest, { kind: "customers" }>, cursor: string | null, limit: number): Promise<SourcePage> {
    const page = await this.deps.audience.page(workspaceId, request.filter, cursor, limit);
    const seen = new Set<string>();
    const rows = page.items.map((p): StoredRow => {
      // An attribute named like a fixed column (email, most often) is that column already.
      const attrs: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(p.attributes)) {
        if (FIXED.has(name)) continue;
        seen.add(name);
        attrs[name] = value;
      }
      return [[p.id, p.email, p.personId, seconds(p.createdAt)], attrs];
    });
    return { rows, attributes: [...seen], next: page.next };
  }

  private async deliveries(workspaceId: string, request: Extract<ExportRequest, { kind: "deliveries" }>, cursor: string | null, limit: number): Promise<SourcePage> {
    const page = await this.deps.ledger.broadcastMail(workspaceId, request.broadcastId, { limit, cursor, from: request.from, until: request.until, status: request.status });
    const people = await this.deps.people.getMany(workspaceId, [...new Set(page.items.map((m) => m.personId))]);
    const rows = page.items.map((m): StoredRow => {
      const person = people.get(m.personId);
      const attrs: Record<string, unknown> = {};
      for (const name of request.attributes) if (person && name in person.attributes) attrs[name] = person.attributes[name];
      const t = m.times;
      return [
        [m.deliveryId || null, person?.id ?? null, m.personId, person?.email ?? null, m.recipient || null, m.subject, Number(request.broadcastId), seconds(m.createdAt), m.skipReason === null ? "sent" : "skipped", m.skipReason, seconds(t.delivered), seconds(t.opened), seconds(t.clicked), seconds(t.bounced), seconds(t.unsubscribed)],
        attrs,
      ];
    });
    return { rows, attributes: [], next: page.next };
  }
}
