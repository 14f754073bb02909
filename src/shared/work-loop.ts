// The loop of a background worker that takes due work from the database: it runs when woken (work
// was just made in this process) and every `pollMs` otherwise (work made by another process, or
// whose claim ran out), never two passes at once, and a wake during a pass runs one more pass.
// A pass repeats `runOnce` until it says nothing more is due; an error ends the pass, is logged,
// and the work is found again by a later one.
import type { Logger } from "./logger.js";
import { nextTurn } from "./next-turn.js";

export interface WorkLoopOptions {
  /** Takes one piece of due work; false when none was due. */
  runOnce: () => Promise<boolean>;
  pollMs: number;
  logger: Logger;
  /** Names the work in the log line of a failed pass. */
  what: string;
}

export class WorkLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(private readonly options: WorkLoopOptions) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Whether stop() was called: long pieces of work check it to give their work back early. */
  get stopping(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async pass(): Promise<void> {
    try {
      // Each further piece on the event loop's next turn (next-turn.ts says why).
      while (!this.stopped && (await this.options.runOnce())) await nextTurn();
    } catch (err) {
      this.options.logger.error({ event: "work.pass.failed", err }, `${this.options.what} failed; it will be tried again`);
    }
  }
}
