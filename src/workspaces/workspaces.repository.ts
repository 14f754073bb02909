import type { Db, Dialect } from "../store/store.js";
import type { Insertable, Selectable } from "kysely";
import { sql } from "../store/kysely.js";
import type { ApiTokensTable, StreamsTable, WorkspacesTable } from "../store/schema.js";
import { escapeLike } from "../store/like.js";
import type { WorkspaceColor, WorkspaceSettings } from "./workspace-settings.js";

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

/** A token without its secret: what it is, its last characters, when it was made. */
export interface TokenSummary {
  id: string;
  kind: ApiTokensTable["kind"];
  /** The token's last four characters (a Track pair's: its site id's; an SMTP pair's: its access key's). */
  hint: string;
  createdAt: number;
  /** SMTP token pairs: the stream their mail goes to. */
  stream: string | null;
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

  /** A workspace's tokens as an operator may see them (kind, hint, when made), newest first; never their hashes. */
  async listTokens(db: Db, workspaceId: string): Promise<TokenSummary[]> {
    const rows = await db
      .selectFrom("api_tokens")
      .select(["id", "kind", "hint", "created_at", "stream"])
      .where("workspace_id", "=", workspaceId)
      .orderBy("created_at", "desc")
      .orderBy("id")
      .execute();
    return rows.map((r) => ({ id: r.id, kind: r.kind, hint: r.hint, createdAt: Number(r.created_at), stream: r.stream }));
  }

  /** One token of the workspace (never an account token, which has none), without its hash. */
  async findToken(db: Db, workspaceId: string, tokenId: string): Promise<TokenSummary | null> {
    const r = await db.selectFrom("api_tokens").select(["id", "kind", "hint", "created_at", "stream"]).where("workspace_id", "=", workspaceId).where("id", "=", tokenId).executeTakeFirst();
    return r ? { id: r.id, kind: r.kind, hint: r.hint, createdAt: Number(r.created_at), stream: r.stream } : null;
  }

  /**
   * How many tokens of a kind the workspace has. With `lock`, the workspace's row is locked first
   * (PostgreSQL; SQLite has one writer), so two revocations at once cannot each see the other's
   * token still there and leave none.
   */
  async countTokens(db: Db, workspaceId: string, kind: ApiTokensTable["kind"], lock = false): Promise<number> {
    if (lock && sql`${null}`.compile(db).sql === "$1") await db.selectFrom("workspaces").select("id").where("id", "=", workspaceId).forUpdate().execute();
    const row = await db.selectFrom("api_tokens").select((eb) => eb.fn.countAll<number>().as("n")).where("workspace_id", "=", workspaceId).where("kind", "=", kind).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async deleteToken(db: Db, workspaceId: string, tokenId: string): Promise<void> {
    await db.deleteFrom("api_tokens").where("workspace_id", "=", workspaceId).where("id", "=", tokenId).execute();
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

  async settings(db: Db, workspaceId: string): Promise<WorkspaceSettings | null> {
    const row = await db.selectFrom("workspaces").select(SETTINGS_COLUMNS).where("id", "=", workspaceId).executeTakeFirst();
    return row ? toSettings(row) : null;
  }

  /** Sets the name, the sandbox switch and the settings a change names. */
  async update(db: Db, workspaceId: string, changes: Partial<SettingsRow> & { name?: string; sandbox?: number }): Promise<void> {
    if (Object.keys(changes).length === 0) return;
    await db.updateTable("workspaces").set(changes).where("id", "=", workspaceId).execute();
  }

  /** A page of workspaces, oldest first; `name` matches part of the name, without regard to case. */
  async page(db: Db, query: { count: number; offset: number; name?: string }): Promise<{ total: number; workspaces: Workspace[] }> {
    let base = db.selectFrom("workspaces");
    // LIKE's wildcards in the name are escaped, as in every search (store/like.ts).
    if (query.name) base = base.where(sql<boolean>`lower(name) like ${`%${escapeLike(query.name.toLowerCase())}%`} escape '\\'`);
    const total = await base.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const rows = await base.selectAll().orderBy("created_at").orderBy("name").limit(query.count).offset(query.offset).execute();
    return { total: Number(total.n), workspaces: rows.map(toWorkspace) };
  }

  /**
   * Deletes a workspace and every row that names it: every table with a workspace_id column is
   * found by introspection, so that tables added later (templates, webhooks, stats…) are covered
   * without this method knowing them. The workspace's own row goes last.
   */
  async deleteEverything(db: Db, workspaceId: string, dialect: Dialect): Promise<string[]> {
    // Locked first, on PostgreSQL: a consumer that writes rows of a workspace (the stats rollups)
    // holds the row FOR SHARE while it does (liveWorkspaces), so either its rows are committed
    // before the deletes below run, which then see them, or it waits and finds the workspace gone.
    // On SQLite transactions do not overlap.
    if (dialect === "postgres") await sql`select id from workspaces where id = ${workspaceId} for update`.execute(db);
    const tables = await db.introspection.getTables();
    const owned = tables.filter((t) => t.name !== "workspaces" && t.columns.some((c) => c.name === "workspace_id")).map((t) => t.name);
    for (const table of owned) {
      await sql`delete from ${sql.table(table)} where workspace_id = ${workspaceId}`.execute(db);
    }
    await db.deleteFrom("workspaces").where("id", "=", workspaceId).execute();
    return owned;
  }

  /**
   * Which of these workspaces still exist, for a writer of their rows inside its transaction; on
   * PostgreSQL their rows are held FOR SHARE until it commits (see deleteEverything).
   */
  async liveWorkspaces(db: Db, ids: readonly string[], dialect: Dialect): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await sql<{ id: string }>`select id from workspaces where id in (${sql.join([...ids])}) ${dialect === "postgres" ? sql`order by id for share` : sql``}`.execute(db);
    return new Set(rows.rows.map((r) => r.id));
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

export type SettingsRow = Pick<
  Selectable<WorkspacesTable>,
  "color" | "smtp_enabled" | "raw_email_enabled" | "inbound_spam_threshold" | "track_opens" | "track_links" | "post_first_open_only" | "include_bounce_content_in_hook" | "smtp_error_hooks"
>;

const SETTINGS_COLUMNS = [
  "color",
  "smtp_enabled",
  "raw_email_enabled",
  "inbound_spam_threshold",
  "track_opens",
  "track_links",
  "post_first_open_only",
  "include_bounce_content_in_hook",
  "smtp_error_hooks",
] as const;

/** The columns of a settings change: only the settings it names. */
export function settingsColumns(settings: Partial<WorkspaceSettings>): Partial<SettingsRow> {
  const row: Partial<SettingsRow> = {};
  const flag = (value: boolean) => (value ? 1 : 0);
  if (settings.color !== undefined) row.color = settings.color;
  if (settings.smtpEnabled !== undefined) row.smtp_enabled = flag(settings.smtpEnabled);
  if (settings.rawEmailEnabled !== undefined) row.raw_email_enabled = flag(settings.rawEmailEnabled);
  if (settings.inboundSpamThreshold !== undefined) row.inbound_spam_threshold = settings.inboundSpamThreshold;
  if (settings.trackOpens !== undefined) row.track_opens = flag(settings.trackOpens);
  if (settings.trackLinks !== undefined) row.track_links = settings.trackLinks;
  if (settings.postFirstOpenOnly !== undefined) row.post_first_open_only = flag(settings.postFirstOpenOnly);
  if (settings.includeBounceContentInHook !== undefined) row.include_bounce_content_in_hook = flag(settings.includeBounceContentInHook);
  if (settings.smtpErrorHooks !== undefined) row.smtp_error_hooks = flag(settings.smtpErrorHooks);
  return row;
}

function toSettings(row: SettingsRow): WorkspaceSettings {
  return {
    color: row.color as WorkspaceColor,
    smtpEnabled: row.smtp_enabled === 1,
    rawEmailEnabled: row.raw_email_enabled === 1,
    inboundSpamThreshold: Number(row.inbound_spam_threshold),
    trackOpens: row.track_opens === 1,
    trackLinks: row.track_links as WorkspaceSettings["trackLinks"],
    postFirstOpenOnly: row.post_first_open_only === 1,
    includeBounceContentInHook: row.include_bounce_content_in_hook === 1,
    smtpErrorHooks: row.smtp_error_hooks === 1,
  };
}

function toInboundSettings(row: { id: string; inbound_hash: string | null; inbound_domain: string | null; inbound_hook_url: string | null }): InboundSettings {
  return { workspaceId: row.id, inboundHash: row.inbound_hash ?? "", inboundDomain: row.inbound_domain, inboundHookUrl: row.inbound_hook_url };
}
