// The periodic recheck of sending domains' DNS records (run by the mta role). Each tick checks
// the domains not checked within the interval, so several processes sharing one database split
// the work instead of each checking everything; a domain checked twice by a race costs two DNS
// lookups and nothing else, since the writes are idempotent.
import type { Logger } from "../shared/logger.js";
import type { SendingDomainsService } from "./sending-domains.service.js";

/** A tick looks for due domains at least this often, so new domains get a first check soon. */
const MAX_TICK_MS = 60_000;
/** Domains checked per batch. */
const BATCH = 100;
/** Batches per tick at most: bounds a tick even if failing checks keep the same domains due. */
const MAX_BATCHES_PER_TICK = 10;

export interface DomainRecheck {
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export function startDomainRecheck(options: {
  service: Pick<SendingDomainsService, "recheckDue">;
  intervalMs: number;
  logger: Logger;
  /** How often to look for due domains; default min(intervalMs, 60 s). */
  tickMs?: number;
}): DomainRecheck {
  const tickMs = options.tickMs ?? Math.min(options.intervalMs, MAX_TICK_MS);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = () => {
    running = (async () => {
      try {
        // Whole batches in a row until nothing is due, so a backlog (first start, many domains)
        // drains without waiting a tick per hundred.
        for (let batch = 0; batch < MAX_BATCHES_PER_TICK && !stopped; batch += 1) {
          if ((await options.service.recheckDue({ intervalMs: options.intervalMs, limit: BATCH })) < BATCH) break;
        }
      } catch (err) {
        options.logger.warn({ event: "sending-domain.recheck.pass-failed", err }, "sending domain recheck pass failed");
      }
      if (!stopped) schedule(tickMs);
    })();
  };
  const schedule = (ms: number) => {
    timer = setTimeout(tick, ms);
    timer.unref(); // never what keeps the process alive
  };
  schedule(0);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
