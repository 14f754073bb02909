// Posts inbound messages to their workspace's inbound webhook. Due messages are claimed under a
// short lease (so several processes can run this, and a crash only delays a post), posted as
// Postmark's JSON, and the outcome recorded: a 2xx ends it Processed; a 403 ends it Failed at once
// (Postmark's rule: the endpoint refuses it on purpose); anything else (another status, a timeout,
// a refused connection) retries after a wait that doubles from `backoffMs`, for 10 attempts in
// all, and then ends Failed. Failed messages can be posted again with PUT /messages/inbound/{id}/retry.
//
// Credentials in the URL (https://user:pass@host/path, Postmark's way of giving Basic auth) are
// sent as an Authorization header: fetch refuses URLs that carry them.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { WorkspacesService } from "../workspaces/workspaces.service.js";
import type { InboundMessagesRepository, HookOutcome } from "./inbound-messages.repository.js";
import type { InboundMessageRow } from "./inbound.schema.js";

export const MAX_HOOK_ATTEMPTS = 10;
const CLAIM_BATCH = 20;
const POLL_MS = 1_000;

export interface HookDispatcherOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  workspaces: Pick<WorkspacesService, "inboundSettings">;
  repository: InboundMessagesRepository;
  /** Wait before the first retry; doubles with each attempt. */
  backoffMs: number;
  /** How long one post may take. */
  timeoutMs?: number;
  /** How long a claim is held; a post that outlives it may be repeated by another process. */
  leaseMs?: number;
}

export class InboundHookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly timeoutMs: number;
  private readonly leaseMs: number;

  constructor(private readonly options: HookDispatcherOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.leaseMs = options.leaseMs ?? this.timeoutMs * 3;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs a pass now (a message with a due webhook was just committed). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass: claims due messages and posts them. Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const now = this.options.clock.now();
    const leaseUntil = now + this.leaseMs;
    const claimed = await this.options.store.write((trx) => this.options.repository.claimDueHooks(trx, now, leaseUntil, CLAIM_BATCH));
    await Promise.all(claimed.map((row) => this.post(row, leaseUntil)));
    return claimed.length;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.loop().finally(() => {
        this.running = null;
        this.schedule(this.again ? 0 : POLL_MS);
        this.again = false;
      });
    }, delayMs);
  }

  private async loop(): Promise<void> {
    try {
      // A full batch means more may be due: keep going until a pass finds less.
      while (!this.stopped && (await this.runOnce()) === CLAIM_BATCH);
    } catch (err) {
      this.options.logger.error({ err }, "inbound webhook pass failed");
    }
  }

  private async post(row: InboundMessageRow, leaseUntil: number): Promise<void> {
    const { logger, repository, store } = this.options;
    const settings = await this.options.workspaces.inboundSettings(row.workspace_id);
    if (!settings.inboundHookUrl) {
      await store.write((trx) => repository.markProcessed(trx, row.id));
      return;
    }
    const attempts = row.hook_attempts + 1;
    const result = await send(settings.inboundHookUrl, row.payload_json, this.timeoutMs);
    const now = this.options.clock.now();
    let outcome: HookOutcome;
    if (result.ok) outcome = { status: "Processed", attempts, nextAt: null, lastError: null };
    else if (result.status === 403 || attempts >= MAX_HOOK_ATTEMPTS) outcome = { status: "Failed", attempts, nextAt: null, lastError: result.error };
    else outcome = { status: "Scheduled", attempts, nextAt: now + this.options.backoffMs * 2 ** (attempts - 1), lastError: result.error };
    const recorded = await store.write((trx) => repository.recordHookOutcome(trx, row.id, leaseUntil, outcome));
    const log = { id: row.id, workspaceId: row.workspace_id, attempt: attempts, status: outcome.status, error: result.error };
    if (!recorded) logger.info(log, "inbound webhook outcome not recorded: the message changed meanwhile");
    else if (result.ok) logger.debug(log, "inbound webhook posted");
    else logger.warn(log, "inbound webhook failed");
  }
}

async function send(rawUrl: string, body: string, timeoutMs: number): Promise<{ ok: boolean; status: number | null; error: string | null }> {
  const url = new URL(rawUrl);
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "Posthorn inbound webhook" };
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  try {
    const response = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status, error: null };
    return { ok: false, status: response.status, error: `HTTP ${response.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, status: null, error: (err as Error).name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : `${(err as Error).message}${cause ? ` (${cause})` : ""}` };
  }
}
