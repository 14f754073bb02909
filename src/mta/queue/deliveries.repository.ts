// SQL for the delivery queue. Claiming is the one place the dialects differ: PostgreSQL skips rows
// another worker has locked (FOR UPDATE SKIP LOCKED) so workers never wait on each other; SQLite
// has a single writer, so the UPDATE … RETURNING is atomic on its own.
import { sql } from "../../store/kysely.js";
import type { Db, Dialect } from "../../store/store.js";
import type { DeliveryRow, DeliveryState } from "../../store/schema.js";
import { addressKey } from "../../shared/email-address.js";

export interface ClaimedDelivery {
  id: number;
  messageId: string;
  workspaceId: string;
  recipient: string;
  domain: string;
  stream: string;
  attempts: number;
  createdAt: number;
  leaseOwner: string;
}

export interface DeliveryUpdate {
  id: number;
  leaseOwner: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastReply: string | null;
  now: number;
}

const PENDING: DeliveryState[] = ["queued", "deferred"];

/**
 * The claim index's own predicate, written as literal SQL. SQLite uses a partial index only when
 * the query repeats the index's WHERE term as written; with the states as bound parameters it
 * scanned the whole table on every claim (found in the MTA benchmark's profile).
 */
const PENDING_LITERALLY = sql<boolean>`state in ('queued', 'deferred')`;

/** Rows per multi-row UPDATE: 7 parameters each, well below SQLite's bound-parameter cap. */
const UPDATE_CHUNK = 500;

/** The two claim lanes: never attempted, and retries. */
export type Lane = "queued" | "deferred";

export class DeliveriesRepository {
  constructor(private readonly dialect: Dialect) {}

  /**
   * Claims up to `limit` due deliveries for `owner` until `leaseUntil`: the claim moves
   * next_attempt_at to the lease's end, so rows whose worker dies come due again by themselves.
   * `workspaceId` and `lane` narrow the claim to one workspace and one lane (see claimFairly).
   */
  async claimDue(
    db: Db,
    input: { owner: string; now: number; leaseUntil: number; limit: number; workspaceId?: string; lane?: Lane },
  ): Promise<ClaimedDelivery[]> {
    if (input.limit <= 0) return [];
    const due = this.dueIds(db, input);
    const rows = await db
      .updateTable("deliveries")
      .set({ lease_owner: input.owner, next_attempt_at: input.leaseUntil, updated_at: input.now })
      .where("id", "in", due)
      .returning(["id", "message_id", "workspace_id", "recipient", "domain", "stream", "attempts", "created_at", "lease_owner"])
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      messageId: r.message_id,
      workspaceId: r.workspace_id,
      recipient: r.recipient,
      domain: r.domain,
      stream: r.stream,
      attempts: r.attempts,
      createdAt: r.created_at,
      leaseOwner: input.owner,
    }));
  }

  /** The ids a claim takes (exposed so a test can check that it runs on the claim index). */
  dueIds(db: Db, input: { now: number; limit: number; workspaceId?: string; lane?: Lane }) {
    let due = db
      .selectFrom("deliveries")
      .select("id")
      .where(PENDING_LITERALLY)
      .where("next_attempt_at", "<=", input.now)
      .orderBy("next_attempt_at")
      .limit(input.limit);
    if (input.lane !== undefined) due = due.where("state", "=", input.lane);
    if (input.workspaceId !== undefined) due = due.where("workspace_id", "=", input.workspaceId);
    if (this.dialect === "postgres") due = due.forUpdate().skipLocked();
    return due;
  }

  /**
   * Claims up to `limit` due deliveries, shared fairly: first across the workspaces that have
   * due work (one tenant's burst cannot starve another's mail), then within each workspace across
   * two lanes, never-attempted mail and retries (a large retry backlog cannot starve new mail).
   * A share one side cannot use goes to the other. At most `maxWorkspaces` workspaces are visited
   * per claim, starting at `rotation`, so that many tenants cost a bounded number of queries.
   */
  async claimFairly(
    db: Db,
    input: { owner: string; now: number; leaseUntil: number; limit: number; rotation: number; maxWorkspaces?: number },
  ): Promise<ClaimedDelivery[]> {
    const all = await this.workspacesWithPendingWork(db);
    if (all.length === 0) return [];
    const visit = Math.min(all.length, input.maxWorkspaces ?? 50);
    const start = input.rotation % all.length;
    const workspaces = Array.from({ length: visit }, (_, i) => all[(start + i) % all.length]!);
    const claimed: ClaimedDelivery[] = [];
    // Workspaces that filled their whole share may have more; later passes hand them what the
    // others could not use. Each pass only visits those, so it ends within a few passes.
    let candidates = workspaces;
    for (let pass = 0; pass < 4 && candidates.length > 0 && claimed.length < input.limit; pass++) {
      const hungry: string[] = [];
      for (const [i, workspaceId] of candidates.entries()) {
        // Spread what is left over the workspaces not yet visited, so unused shares roll forward.
        const share = Math.ceil((input.limit - claimed.length) / (candidates.length - i));
        if (share <= 0) break;
        const base = { owner: input.owner, now: input.now, leaseUntil: input.leaseUntil, workspaceId };
        const fresh = await this.claimDue(db, { ...base, lane: "queued", limit: Math.ceil(share / 2) });
        const retries = await this.claimDue(db, { ...base, lane: "deferred", limit: share - fresh.length });
        const more = await this.claimDue(db, { ...base, lane: "queued", limit: share - fresh.length - retries.length });
        const got = fresh.length + retries.length + more.length;
        claimed.push(...fresh, ...retries, ...more);
        if (got === share) hungry.push(workspaceId);
      }
      candidates = hungry;
    }
    return claimed;
  }

  /**
   * Workspaces that have queued or deferred deliveries, due or not. A recursive query steps
   * through the distinct values of the index's leading column with one seek each, instead of
   * scanning every pending row (neither SQLite nor PostgreSQL does such a loose index scan itself).
   */
  async workspacesWithPendingWork(db: Db): Promise<string[]> {
    const result = await sql<{ id: string }>`
      with recursive w(id) as (
        select min(workspace_id) from deliveries where state in ('queued', 'deferred')
        union all
        select (select min(d.workspace_id) from deliveries d where d.state in ('queued', 'deferred') and d.workspace_id > w.id)
        from w where w.id is not null
      )
      select id from w where id is not null`.execute(db);
    return result.rows.map((r) => r.id);
  }

  /**
   * Writes attempts' outcomes for the rows whose claim is still ours, in one statement per chunk
   * (one round trip, not one per delivery). Returns the ids written; a row whose lease was lost
   * (another worker reclaimed it after our lease expired) is left alone, and the caller must
   * record nothing for it.
   */
  async applyUpdates(db: Db, updates: DeliveryUpdate[]): Promise<Set<number>> {
    const applied = new Set<number>();
    // PostgreSQL types bare VALUES parameters as text; the casts give them the columns' types.
    const cast = (value: unknown, type: string) => (this.dialect === "postgres" ? sql`cast(${value} as ${sql.raw(type)})` : sql`${value}`);
    for (let i = 0; i < updates.length; i += UPDATE_CHUNK) {
      const chunk = updates.slice(i, i + UPDATE_CHUNK);
      const values = sql.join(
        chunk.map(
          (u) =>
            sql`(${cast(u.id, "bigint")}, ${cast(u.leaseOwner, "text")}, ${cast(u.state, "text")}, ${cast(u.attempts, "integer")}, ${cast(u.nextAttemptAt, "bigint")}, ${cast(u.lastReply, "text")}, ${cast(u.now, "bigint")})`,
        ),
      );
      // VALUES columns are column1…column7 on both SQLite and PostgreSQL.
      const result = await sql<{ id: number }>`
        update deliveries set state = v.column3, attempts = v.column4, next_attempt_at = v.column5,
          last_reply = v.column6, lease_owner = null, updated_at = v.column7
        from (values ${values}) as v
        where deliveries.id = v.column1 and deliveries.lease_owner = v.column2
        returning deliveries.id`.execute(db);
      for (const row of result.rows) applied.add(Number(row.id));
    }
    return applied;
  }

  /**
   * Extends the leases of the rows `owner` still holds among `ids` to `leaseUntil`, and returns
   * the ids it renewed. A row is renewed only while its lease is ours and it is still waiting for
   * an outcome: one whose outcome was written meanwhile (lease_owner cleared) or that another
   * worker took after our lease ran out is left alone and missing from the result, so a worker
   * learns which attempts can no longer record anything (applyUpdates would drop them).
   */
  async renewLeases(db: Db, input: { ids: number[]; owner: string; leaseUntil: number; now: number }): Promise<Set<number>> {
    const renewed = new Set<number>();
    for (let i = 0; i < input.ids.length; i += UPDATE_CHUNK) {
      const chunk = input.ids.slice(i, i + UPDATE_CHUNK);
      // On PostgreSQL a row another transaction has locked is skipped, never waited for. While a
      // row is ours, what locks it is this worker's own outcome write (applyUpdates), on another
      // connection, in another order: waiting made the two deadlock, PostgreSQL aborted
      // the outcome's write, the row stayed leased and was sent again after its lease. A row
      // skipped is being recorded (its write ends the lease), or was claimed by another worker
      // after our lease ran out (lost either way).
      const ours =
        this.dialect === "postgres"
          ? db.selectFrom("deliveries").select("id").where("id", "in", chunk).where("lease_owner", "=", input.owner).where(PENDING_LITERALLY).forUpdate().skipLocked()
          : chunk;
      const rows = await db
        .updateTable("deliveries")
        .set({ next_attempt_at: input.leaseUntil, updated_at: input.now })
        .where("id", "in", ours)
        .where("lease_owner", "=", input.owner)
        .where("state", "in", PENDING)
        .returning("id")
        .execute();
      for (const row of rows) renewed.add(Number(row.id));
    }
    return renewed;
  }

  /**
   * Makes every pending row leased by someone other than `owner` due now, lease cleared, and
   * returns how many. Only for a process that knows it is the sole worker on the database (SQLite
   * serves one process): whoever held those leases is dead, and its rows should not wait for the
   * leases to run out. On PostgreSQL the holders may be live peers; never call it there.
   *
   * "Due now" is next_attempt_at = created_at, a time already past, rather than now: claims take
   * due rows oldest first, and these were at the head of the queue when they were claimed. A
   * never-attempted row gets back its exact place (its acceptance time); a retry goes to the head
   * of its lane. With next_attempt_at = now they would wait behind the whole backlog.
   *
   * It reads every pending row once (through the claim index's partial predicate); it runs once,
   * at start, so that is the price of one scan, not one per claim.
   */
  async takeBackLeasesOfOthers(db: Db, input: { owner: string; now: number }): Promise<number> {
    const result = await db
      .updateTable("deliveries")
      .set((eb) => ({ lease_owner: null, next_attempt_at: eb.ref("created_at"), updated_at: input.now }))
      .where(PENDING_LITERALLY)
      .where("lease_owner", "is not", null)
      .where("lease_owner", "<>", input.owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Gives claimed rows back (shutdown): they are due again at once for whichever worker is next. */
  async release(db: Db, ids: number[], owner: string, now: number): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      await db
        .updateTable("deliveries")
        .set({ lease_owner: null, next_attempt_at: now, updated_at: now })
        .where("id", "in", ids.slice(i, i + 500))
        .where("lease_owner", "=", owner)
        .where("state", "in", PENDING)
        .execute();
    }
  }

  /** Recipient domains with the most deliveries waiting, largest first. */
  async mostWaiting(db: Db, limit: number): Promise<Array<{ domain: string; queued: number; deferred: number; oldestCreatedAt: number }>> {
    const rows = await db
      .selectFrom("deliveries")
      .select((eb) => [
        "domain",
        eb.fn.sum<number>(eb.case().when("state", "=", "queued").then(1).else(0).end()).as("queued"),
        eb.fn.sum<number>(eb.case().when("state", "=", "deferred").then(1).else(0).end()).as("deferred"),
        eb.fn.min<number>("created_at").as("oldest"),
        eb.fn.countAll<number>().as("total"),
      ])
      .where("state", "in", PENDING)
      .groupBy("domain")
      .orderBy("total", "desc")
      .orderBy("domain")
      .limit(limit)
      .execute();
    return rows.map((d) => ({ domain: d.domain, queued: Number(d.queued), deferred: Number(d.deferred), oldestCreatedAt: Number(d.oldest) }));
  }

  /** Makes deferred deliveries (of one domain, or all) due now; rows mid-attempt are left alone. Returns how many. */
  async makeDeferredDue(db: Db, options: { domain?: string; now: number }): Promise<number> {
    let query = db
      .updateTable("deliveries")
      .set({ next_attempt_at: options.now, updated_at: options.now })
      .where("state", "=", "deferred")
      // Rows held by a worker are mid-attempt; their outcome decides what comes next.
      .where("lease_owner", "is", null);
    if (options.domain) query = query.where("domain", "=", options.domain);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Ends every waiting delivery to a domain that no worker holds as bounced; returns them. */
  async bounceWaiting(db: Db, domain: string, reply: string, now: number): Promise<Array<{ id: number; messageId: string; workspaceId: string; recipient: string; stream: string }>> {
    const rows = await db
      .updateTable("deliveries")
      .set({ state: "bounced", last_reply: reply, updated_at: now })
      .where("domain", "=", domain)
      .where("state", "in", PENDING)
      .where("lease_owner", "is", null)
      .returning(["id", "message_id", "workspace_id", "recipient", "stream"])
      .execute();
    return rows.map((r) => ({ id: Number(r.id), messageId: r.message_id, workspaceId: r.workspace_id, recipient: r.recipient, stream: r.stream }));
  }

  /**
   * The waiting part of the queue for the metrics and /readyz: pending rows by state, and the
   * next_attempt_at of the oldest row that is due and not leased (claimed rows carry their lease's
   * end there, so they are not due). Both read only the claim index's rows (PENDING_LITERALLY).
   */
  async pendingBacklog(db: Db, now: number): Promise<{ queued: number; deferred: number; oldestDueAt: number | null }> {
    const rows = await db.selectFrom("deliveries").select(["state", (eb) => eb.fn.countAll<number>().as("n")]).where(PENDING_LITERALLY).groupBy("state").execute();
    const oldest = await db.selectFrom("deliveries").select((eb) => eb.fn.min<number>("next_attempt_at").as("at")).where(PENDING_LITERALLY).where("next_attempt_at", "<=", now).executeTakeFirst();
    const count = (state: string) => Number(rows.find((r) => r.state === state)?.n ?? 0);
    return { queued: count("queued"), deferred: count("deferred"), oldestDueAt: oldest?.at == null ? null : Number(oldest.at) };
  }

  async countByState(db: Db): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom("deliveries")
      .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy("state")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  async findById(db: Db, id: number): Promise<DeliveryRow | null> {
    return (await db.selectFrom("deliveries").selectAll().where("id", "=", id).executeTakeFirst()) ?? null;
  }

  /**
   * A message's delivery to one recipient, for reports that name the message but carry no VERP.
   * Recipients are stored with an A-label domain, so lower(recipient) is their addressKey.
   */
  async findByMessageAndRecipient(db: Db, messageId: string, recipient: string): Promise<DeliveryRow | null> {
    return (
      (await db
        .selectFrom("deliveries")
        .selectAll()
        .where("message_id", "=", messageId)
        .where(sql<string>`lower(recipient)`, "=", addressKey(recipient))
        .executeTakeFirst()) ?? null
    );
  }

  /**
   * An asynchronous bounce: the remote accepted the message (or it is still waiting) and reports
   * failure later. Returns false when the delivery had already ended otherwise (bounced, expired,
   * suppressed), so a repeated report is recorded once.
   */
  async markBouncedLater(db: Db, id: number, lastReply: string, now: number): Promise<boolean> {
    const result = await db
      .updateTable("deliveries")
      .set({ state: "bounced", last_reply: lastReply, lease_owner: null, updated_at: now })
      .where("id", "=", id)
      .where("state", "in", ["delivered", "queued", "deferred"])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
