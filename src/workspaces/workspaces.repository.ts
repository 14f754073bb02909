import type { Db } from "../store/store.js";
import type { ApiTokensTable, StreamsTable, WorkspacesTable } from "../store/schema.js";

export interface Workspace {
  id: string;
  name: string;
  sandbox: boolean;
  createdAt: number;
}

function toWorkspace(row: WorkspacesTable): Workspace {
  return { id: row.id, name: row.name, sandbox: row.sandbox === 1, createdAt: row.created_at };
}

export class WorkspacesRepository {
  async insertWorkspace(db: Db, row: WorkspacesTable): Promise<void> {
    await db.insertInto("workspaces").values(row).execute();
  }

  async insertStreams(db: Db, rows: StreamsTable[]): Promise<void> {
    await db.insertInto("streams").values(rows).execute();
  }

  async insertToken(db: Db, row: ApiTokensTable): Promise<void> {
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

  async findByTokenHash(db: Db, kind: "server" | "account", tokenHash: string): Promise<{ workspace: Workspace | null } | null> {
    const row = await db
      .selectFrom("api_tokens")
      .leftJoin("workspaces", "workspaces.id", "api_tokens.workspace_id")
      .select(["workspaces.id", "workspaces.name", "workspaces.sandbox", "workspaces.created_at"])
      .where("api_tokens.token_hash", "=", tokenHash)
      .where("api_tokens.kind", "=", kind)
      .executeTakeFirst();
    if (!row) return null;
    if (row.id === null || row.name === null || row.sandbox === null || row.created_at === null) return { workspace: null };
    return { workspace: { id: row.id, name: row.name, sandbox: row.sandbox === 1, createdAt: row.created_at } };
  }

  async findStream(db: Db, workspaceId: string, streamId: string): Promise<StreamsTable | null> {
    const row = await db
      .selectFrom("streams")
      .selectAll()
      .where("workspace_id", "=", workspaceId)
      .where("id", "=", streamId)
      .executeTakeFirst();
    return row ?? null;
  }
}
