// This process's side of the connection slots (connection-slots.repository.ts): claims a slot
// for each connection it opens, renews the leases of the slots it holds every third of the lease,
// notices a slot it lost (its lease ran out, say while the process was stalled, and another
// process took it) so the connection on it retires, and gives slots back when connections close.
import type { ConnectionSlotStore } from "./connection-slots.repository.js";
import type { SlotPermit } from "./destination.pool.js";

export interface SlotKeeperOptions {
  store: ConnectionSlotStore;
  /** Unique per transport: host, pid and a random part. */
  owner: string;
  leaseMs: number;
  logger?: { warn(obj: object, msg: string): void };
  /** A slot of this cap was given back: queues waiting for one may try now. */
  onFreed?: (capKey: string) => void;
}

interface HeldPermit extends SlotPermit {
  lost: boolean;
}

export function createSlotKeeper(options: SlotKeeperOptions) {
  const held = new Map<string, HeldPermit>();
  let renewTimer: NodeJS.Timeout | null = null;
  let renewing: Promise<void> = Promise.resolve();
  let closed = false;

  async function renew(): Promise<void> {
    try {
      const still = new Set((await options.store.renew(options.owner, options.leaseMs)).map((s) => `${s.destination}\u0000${s.slot}`));
      for (const [id, permit] of held) {
        if (still.has(id)) continue;
        permit.lost = true;
        options.logger?.warn({ event: "mta.slot.lost", slot: id.replace("\u0000", "#") }, "connection slot lost (lease ran out); its connection retires");
      }
    } catch (err) {
      // The connections go on; if the store stays unreachable past the lease, other processes
      // may take the slots, and this one learns it at the next renewal that works.
      options.logger?.warn({ event: "mta.slot.renew-failed", err }, "renewing connection slots failed");
    }
  }

  function startRenewing(): void {
    if (renewTimer || closed) return;
    renewTimer = setInterval(() => {
      renewing = renewing.then(renew);
    }, Math.max(10, Math.floor(options.leaseMs / 3)));
    renewTimer.unref();
  }

  return {
    /** A permit for one connection under `capKey`'s cap, or null when every slot is held. */
    async claim(capKey: string, cap: number): Promise<SlotPermit | null> {
      if (closed) return null;
      let slot: number | null;
      try {
        slot = await options.store.claim(capKey, cap, options.owner, options.leaseMs);
      } catch (err) {
        // Without the store there is no way to know the others' connections: open none.
        options.logger?.warn({ event: "mta.slot.claim-failed", err, destination: capKey }, "claiming a connection slot failed");
        return null;
      }
      if (slot === null) return null;
      startRenewing();
      const id = `${capKey}\u0000${slot}`;
      const permit: HeldPermit = {
        lost: false,
        release: () => {
          if (held.get(id) !== permit) return;
          held.delete(id);
          options.store
            .release(capKey, slot, options.owner)
            .catch((err: unknown) => options.logger?.warn({ event: "mta.slot.release-failed", err, destination: capKey }, "releasing a connection slot failed; its lease will run out"))
            .finally(() => options.onFreed?.(capKey));
        },
      };
      held.set(id, permit);
      return permit;
    },

    get held(): number {
      return held.size;
    },

    /** Stops renewing and gives back whatever is still held. */
    async close(): Promise<void> {
      closed = true;
      if (renewTimer) clearInterval(renewTimer);
      await renewing;
      held.clear();
      await options.store.releaseAll(options.owner).catch(() => undefined);
    },
  };
}
