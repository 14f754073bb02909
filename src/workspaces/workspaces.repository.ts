import type { Db } from "../store/store.js";
import type { Insertable, Selectable } from "kysely";
import type { ApiTokensTable, StreamsTable, WorkspacesTable } from "../store/schema.js";

export interface Workspace {
  id: string;
  name: string;
  sandbox: boolean;
  createdAt: number;
}

/** A workspace's inbound addressing and webhook (Postmark's InboundHash, InboundDomain, InboundHookUrl). */
export interface InboundSettings {
  workspaceId: string;
  inboundHash: string;
  inboundDomain: string | null;
  inboundHookUrl: string | null;
}

function toWorkspace(row: Pick<Selectable<WorkspacesTable>, "id" | "name" | "sandbox" | "created_at">): Workspace {
  return { id: row.id, name: row.name, sandbox: row.sandbox === 1, createdAt: row.created_at };
}

export class WorkspacesRepository {
  async insertWorkspace(db: Db, row: Insertable<WorkspacesTable>): Promise<void> {
    await db.insertInto("workspaces").values(row).execute();
  }

  async insertStreams(db: Db, rows: Insertable<StreamsTable>[]): Promise<void> {
    await db.insertInto("streams").values(rows).execute();
  }

  async insertToken(db: Db, row: Insertable<ApiTokensTable>): Promise<void> {
    await db.insertInto("api_tokens").values(row).execute();
  }

  async findByName(db: Db, name: string): Promise<Workspace | null> {
    const row = await db.selectFrom("workspaces").selectAll().where("name", "=", name).executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }

  async list(db: Db): Promise<Workspace[]> {
    const rows = await db.selectFrom("workspaces").selectAll().orderBy("created_at").orderBy("name").execute();
    return rows.map(toWorkspace);
  }

  async count(db: Db): Promise<number> {
    const row = await db.selectFrom("workspaces").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async setSandbox(db: Db, id: string, sandbox: boolean): Promise<void> {
    await db.updateTable("workspaces").set({ sandbox: sandbox ? 1 : 0 }).where("id", "=", id).execute();
  }

  async findByTokenHash(db: Db, kind: ApiTokensTable["kind"], tokenHash: string): Promise<{ workspace: Workspace | null; stream: string | null } | null> {
    const row = await db
      .selectFrom("api_tokens")
      .leftJoin("workspaces", "workspaces.id", "api_tokens.workspace_id")
      .select(["workspaces.id", "workspaces.name", "workspaces.sandbox", "workspaces.created_at", "api_tokens.stream"])
      .where("api_tokens.token_hash", "=", tokenHash)
      .where("api_tokens.kind", "=", kind)
      .executeTakeFirst();
    if (!row) return null;
    if (row.id === null || row.name === null || row.sandbox === null || row.created_at === null) return { workspace: null, stream: row.stream };
    return { workspace: { id: row.id, name: row.name, sandbox: row.sandbox === 1, createdAt: row.created_at }, stream: row.stream };
  }

  async findById(db: Db, id: string): Promise<Workspace | null> {
    const row = await db.selectFrom("workspaces").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }

  async inboundSettings(db: Db, workspaceId: string): Promise<InboundSettings | null> {
    const row = await db
      .selectFrom("workspaces")
      .select(["id", "inbound_hash", "inbound_domain", "inbound_hook_url"])
      .where("id", "=", workspaceId)
      .executeTakeFirst();
    return row ? toInboundSettings(row) : null;
  }

  /** The workspace whose inbound hash or custom inbound domain this is (lower-cased by the caller). */
  async findByInboundHash(db: Db, hash: string): Promise<Workspace | null> {
    const row = await db.selectFrom("workspaces").selectAll().where("inbound_hash", "=", hash).executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }

  async findByInboundDomain(db: Db, domain: string): Promise<Workspace | null> {
    const row = await db.selectFrom("workspaces").selectAll().where("inbound_domain", "=", domain).executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }

  async updateInbound(db: Db, workspaceId: string, changes: { inbound_domain?: string | null; inbound_hook_url?: string | null }): Promise<void> {
    if (Object.keys(changes).length === 0) return;
    await db.updateTable("workspaces").set(changes).where("id", "=", workspaceId).execute();
  }

  async findStream(db: Db, workspaceId: string, streamId: string): Promise<Selectable<StreamsTable> | null> {
    const row = await db
      .selectFrom("streams")
      .selectAll()
      .where("workspace_id", "=", workspaceId)
      .where("id", "=", streamId)
      .executeTakeFirst();
    return row ?? null;
  }
}

function toInboundSettings(row: { id: string; inbound_hash: string | null; inbound_domain: string | null; inbound_hook_url: string | null }): InboundSettings {
  return { workspaceId: row.id, inboundHash: row.inbound_hash ?? "", inboundDomain: row.inbound_domain, inboundHookUrl: row.inbound_hook_url };
}
