// Connection slots: how several MTA processes against one database hold a destination's
// connection cap together. A process takes a slot (a numbered row under the cap, leased to it
// for a while) before it opens a connection, renews its leases while its connections live, and
// deletes the row when the connection closes. A process that dies stops renewing, and its slots
// are free again once their leases run out: no sweeper, as with delivery claims.
//
// One claim per new connection, none per message: connections carry up to
// maxMessagesPerConnection messages each, so at 1,000 messages/s and 100 per connection this is
// about ten claims and ten releases a second, each a small write transaction. The same code runs
// on SQLite, where one process would not strictly need it; one code path tested on both beats a
// special case.
import { sql } from "../../store/kysely.js";
import type { Store } from "../../store/store.js";

export interface DestinationSlotsTable {
  /** The key of the cap: a limits entry ("limits:google") or an MX host set. */
  destination: string;
  /** 0 .. cap-1; the primary key (destination, slot) makes a slot one process's at a time. */
  slot: number;
  owner: string;
  /** Epoch ms; after it the slot is free, whoever the owner. */
  lease_until: number;
}

declare module "../../store/schema.js" {
  interface Database {
    destination_slots: DestinationSlotsTable;
  }
}

export interface HeldSlot {
  destination: string;
  slot: number;
}

/** What the transport needs of the slots; the repository below, or the in-memory one for tests. */
export interface ConnectionSlotStore {
  /** Takes a free slot numbered below `cap` for `owner` until now + leaseMs; null when all are held. */
  claim(destination: string, cap: number, owner: string, leaseMs: number): Promise<number | null>;
  /** Extends every lease of `owner`; returns the slots it still holds (a lease that ran out and
   *  was taken by another process is missing). */
  renew(owner: string, leaseMs: number): Promise<HeldSlot[]>;
  release(destination: string, slot: number, owner: string): Promise<void>;
  releaseAll(owner: string): Promise<void>;
}

/** Rows whose lease ended this long ago belong to processes long gone; renew deletes them. */
const STALE_AFTER_MS = 24 * 3_600_000;
/** A claim that loses a race for its slot to another process tries another one, this many times. */
const CLAIM_TRIES = 3;
/** Slots are leases that run out by themselves: a commit lost to a power cut costs nothing that
 *  the lease does not repair, so they need not wait for an fsync (store.ts WriteOptions). */
const RELAXED = { durability: "relaxed" } as const;

function freeSlots(held: Iterable<number>, cap: number): number[] {
  const taken = new Set(held);
  const free: number[] = [];
  for (let slot = 0; slot < cap; slot += 1) if (!taken.has(slot)) free.push(slot);
  return free;
}

/** A random free slot rather than the lowest, so processes racing for a slot rarely pick the same. */
function pick(free: number[], random: () => number): number {
  return free[Math.floor(random() * free.length)]!;
}

export class ConnectionSlotsRepository implements ConnectionSlotStore {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  async claim(destination: string, cap: number, owner: string, leaseMs: number): Promise<number | null> {
    for (let attempt = 0; attempt < CLAIM_TRIES; attempt += 1) {
      const outcome = await this.store.write(async (trx) => {
        const now = this.now();
        const held = await trx
          .selectFrom("destination_slots")
          .select("slot")
          .where("destination", "=", destination)
          .where("lease_until", ">", now)
          .where("slot", "<", cap)
          .execute();
        const free = freeSlots(held.map((r) => r.slot), cap);
        if (free.length === 0) return "full" as const;
        const slot = pick(free, this.random);
        // The guard is the upsert's WHERE: a row is taken over only if its lease has run out,
        // checked under the row lock (PostgreSQL re-evaluates it after waiting for a concurrent
        // claim; SQLite has one writer). Losing the race returns no row: look again.
        const taken = await trx
          .insertInto("destination_slots")
          .values({ destination, slot, owner, lease_until: now + leaseMs })
          .onConflict((oc) =>
            oc
              .columns(["destination", "slot"])
              .doUpdateSet({ owner: (eb) => eb.ref("excluded.owner"), lease_until: (eb) => eb.ref("excluded.lease_until") })
              .where("destination_slots.lease_until", "<=", now),
          )
          .returning("slot")
          .executeTakeFirst();
        return taken ? slot : ("raced" as const);
      }, RELAXED);
      if (outcome === "full") return null;
      if (outcome !== "raced") return outcome;
    }
    return null;
  }

  async renew(owner: string, leaseMs: number): Promise<HeldSlot[]> {
    return this.store.write(async (trx) => {
      const now = this.now();
      await trx.updateTable("destination_slots").set({ lease_until: now + leaseMs }).where("owner", "=", owner).execute();
      await trx.deleteFrom("destination_slots").where("lease_until", "<", now - STALE_AFTER_MS).execute();
      return trx.selectFrom("destination_slots").select(["destination", "slot"]).where("owner", "=", owner).execute();
    }, RELAXED);
  }

  async release(destination: string, slot: number, owner: string): Promise<void> {
    await this.store.write(
      (trx) => trx.deleteFrom("destination_slots").where("destination", "=", destination).where("slot", "=", slot).where("owner", "=", owner).execute(),
      RELAXED,
    );
  }

  async releaseAll(owner: string): Promise<void> {
    await this.store.write((trx) => trx.deleteFrom("destination_slots").where("owner", "=", owner).execute(), RELAXED);
  }

  /** Slots held now, per destination (operators' view, tests). */
  async heldCounts(): Promise<Map<string, number>> {
    const rows = await this.store.db
      .selectFrom("destination_slots")
      .select(["destination", sql<number>`count(*)`.as("held")])
      .where("lease_until", ">", this.now())
      .groupBy("destination")
      .execute();
    return new Map(rows.map((r) => [r.destination, Number(r.held)]));
  }
}

/** The same semantics in memory: one process's view, for unit tests and as the default. */
export class MemorySlotStore implements ConnectionSlotStore {
  private readonly slots = new Map<string, Map<number, { owner: string; until: number }>>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  async claim(destination: string, cap: number, owner: string, leaseMs: number): Promise<number | null> {
    const now = this.now();
    const rows = this.slots.get(destination) ?? new Map<number, { owner: string; until: number }>();
    this.slots.set(destination, rows);
    const held = [...rows].filter(([, row]) => row.until > now).map(([slot]) => slot);
    const free = freeSlots(held, cap);
    if (free.length === 0) return null;
    const slot = pick(free, this.random);
    rows.set(slot, { owner, until: now + leaseMs });
    return slot;
  }

  async renew(owner: string, leaseMs: number): Promise<HeldSlot[]> {
    const held: HeldSlot[] = [];
    for (const [destination, rows] of this.slots) {
      for (const [slot, row] of rows) {
        if (row.owner !== owner) continue;
        row.until = this.now() + leaseMs;
        held.push({ destination, slot });
      }
    }
    return held;
  }

  async release(destination: string, slot: number, owner: string): Promise<void> {
    const rows = this.slots.get(destination);
    if (rows?.get(slot)?.owner === owner) rows.delete(slot);
    if (rows?.size === 0) this.slots.delete(destination);
  }

  async releaseAll(owner: string): Promise<void> {
    for (const [destination, rows] of this.slots) {
      for (const [slot, row] of rows) if (row.owner === owner) rows.delete(slot);
      if (rows.size === 0) this.slots.delete(destination);
    }
  }
}
