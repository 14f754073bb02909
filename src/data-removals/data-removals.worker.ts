// The worker role's loop over data removal requests: woken when one is made in this process,
// and every POLL_MS otherwise (a request made by another process, or one whose worker died and
// whose lease ran out). One request at a time: erasure scans whole tables, and nothing waits on it.
import { randomUUID } from "node:crypto";
import type { Logger } from "../shared/logger.js";
import { WorkLoop } from "../shared/work-loop.js";
import type { DataRemovalsService } from "./data-removals.service.js";

const POLL_MS = 5_000;

export class DataRemovalsWorker {
  private readonly owner = `removals-${randomUUID()}`;
  private readonly loop: WorkLoop;

  constructor(private readonly deps: { service: DataRemovalsService; logger: Logger; pollMs?: number }) {
    // A failed request is left pending; its lease runs out and it is done again from the start.
    this.loop = new WorkLoop({ runOnce: () => this.runOnce(), pollMs: deps.pollMs ?? POLL_MS, logger: deps.logger, what: "a data removal request" });
    deps.service.onRequested(() => this.wake());
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async runOnce(): Promise<boolean> {
    const done = await this.deps.service.runDue(this.owner);
    // The address is never logged: the request exists to make it disappear.
    if (done) this.deps.logger.info({ event: "data-removal.request.done" }, "a data removal request was carried out");
    return done;
  }
}
