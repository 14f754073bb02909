// The worker role's loop over data removal requests: woken when one is made in this process,
// and every POLL_MS otherwise (a request made by another process, or one whose worker died and
// whose lease ran out). One request at a time: erasure scans whole tables, and nothing waits on it.
import { randomUUID } from "node:crypto";
import type { Logger } from "../shared/logger.js";
import type { DataRemovalsService } from "./data-removals.service.js";

const POLL_MS = 5_000;

export class DataRemovalsWorker {
  private readonly owner = `removals-${randomUUID()}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: { service: DataRemovalsService; logger: Logger; pollMs?: number }) {
    deps.service.onRequested(() => this.wake());
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.deps.pollMs ?? POLL_MS);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.deps.service.runDue(this.owner))) {
        // The address is never logged: the request exists to make it disappear.
        this.deps.logger.info("a data removal request was carried out");
      }
    } catch (err) {
      // Left pending; its lease runs out and it is done again from the start.
      this.deps.logger.error({ err }, "a data removal request failed; it will be retried");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
