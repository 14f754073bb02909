// Read time: how long a message stays open, measured the way mail analytics services do. The open
// pixel is answered with an animated GIF whose first frame goes out at once (so the message looks
// the same) and whose next frames follow one a second; a mail client keeps loading it while the
// message is shown and drops the connection when the reader leaves the message. The time until
// then, in whole seconds, is the open's read time (Postmark's ReadSeconds and its read-times
// stats). After the limit (POSTHORN_TRACKING_READ_SECONDS) the GIF ends and the time is the limit:
// "at least that long".
//
// Bounded: at most POSTHORN_TRACKING_READ_HOLD_MAX pixels are held at once (past it, the plain
// pixel is sent at once and that open has no read time), one timer ticks for all of them, and on
// shutdown every held pixel is ended at once with the time it had. Proxies and prefetchers
// (recorded as proxied) download images whole and say nothing of a reader: they get the plain
// pixel and no read time.
import type { FastifyReply } from "fastify";

/** GIF89a, a 1×1 screen, a two-colour table (black, white). */
const GIF_HEAD = Buffer.from("474946383961" + "0100" + "0100" + "80" + "00" + "00" + "000000" + "ffffff", "hex");
/**
 * One frame: a graphic control extension (keep the frame, colour 0 transparent, shown 100/100 s),
 * an image descriptor (1×1 at 0,0) and its LZW data (the one transparent pixel).
 */
const FRAME = Buffer.from("21f904" + "05" + "6400" + "00" + "00" + "2c" + "00000000" + "0100" + "0100" + "00" + "02" + "0144" + "00", "hex");
const GIF_END = Buffer.of(0x3b);

export interface ReadTimerOptions {
  /** The longest measured; 0: none. */
  maxSeconds: number;
  maxHeld: number;
  /** The open's read time, once known; capped: the limit was reached with the pixel still loading. */
  record(openId: number, seconds: number, capped: boolean): Promise<void>;
  /** Called when recording failed. */
  onError(err: unknown): void;
  now?: () => number;
}

interface Held {
  openId: number;
  reply: FastifyReply;
  started: number;
  done: boolean;
}

export class ReadTimer {
  private readonly held = new Set<Held>();
  private tick: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly options: ReadTimerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Whether one more pixel may be held now. */
  canHold(): boolean {
    return this.options.maxSeconds > 0 && this.held.size < this.options.maxHeld;
  }

  get holding(): number {
    return this.held.size;
  }

  /** Answers the pixel as a GIF that keeps loading, and records the open's read time when it stops. */
  hold(reply: FastifyReply, openId: number, headers: Record<string, string>): void {
    const entry: Held = { openId, reply, started: this.now(), done: false };
    reply.hijack();
    reply.raw.writeHead(200, { ...headers, "content-type": "image/gif" });
    reply.raw.write(Buffer.concat([GIF_HEAD, FRAME]));
    // The client leaving (closing the message) ends the measure; so does an error on the socket.
    reply.raw.once("close", () => this.finish(entry, false));
    this.held.add(entry);
    this.tick ??= setInterval(() => this.onTick(), 1_000);
  }

  /** Ends every held pixel now (shutdown), recording the time each had. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.held].map((entry) => this.finish(entry, true)));
  }

  private onTick(): void {
    const now = this.now();
    for (const entry of this.held) {
      if (now - entry.started >= this.options.maxSeconds * 1_000) void this.finish(entry, true, true);
      else entry.reply.raw.write(FRAME);
    }
  }

  private async finish(entry: Held, end: boolean, capped = false): Promise<void> {
    if (entry.done) return;
    entry.done = true;
    this.held.delete(entry);
    if (this.held.size === 0 && this.tick) {
      clearInterval(this.tick);
      this.tick = null;
    }
    if (end && !entry.reply.raw.writableEnded) entry.reply.raw.end(GIF_END);
    const seconds = capped ? this.options.maxSeconds : Math.min(this.options.maxSeconds, Math.floor((this.now() - entry.started) / 1_000));
    try {
      await this.options.record(entry.openId, seconds, capped);
    } catch (err) {
      this.options.onError(err);
    }
  }
}
