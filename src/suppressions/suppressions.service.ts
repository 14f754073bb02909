// Inactive recipients per stream. A suppressed address is refused at acceptance (all recipients
// inactive → the request fails with Postmark's 406) or recorded as suppressed (some inactive).
import type { Db } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { SuppressionsTable } from "../store/schema.js";
import { SuppressionsRepository } from "./suppressions.repository.js";
import { addressKey } from "../shared/email-address.js";

export class SuppressionsService {
  private readonly repo = new SuppressionsRepository();

  constructor(private readonly deps: { clock: Clock }) {}

  /** The subset of `emailKeys` (addressKey forms) suppressed on the stream. */
  findSuppressed(db: Db, workspaceId: string, stream: string, emailKeys: string[]): Promise<Set<string>> {
    return this.repo.findSuppressed(db, workspaceId, stream, emailKeys);
  }

  suppress(
    db: Db,
    input: { workspaceId: string; stream: string; email: string; reason: SuppressionsTable["reason"]; origin: SuppressionsTable["origin"] },
  ): Promise<void> {
    return this.repo.insertIfAbsent(db, {
      workspace_id: input.workspaceId,
      stream: input.stream,
      email_key: addressKey(input.email),
      email: input.email,
      reason: input.reason,
      origin: input.origin,
      created_at: this.deps.clock.now(),
    });
  }

  list(db: Db, workspaceId: string, stream: string) {
    return this.repo.list(db, workspaceId, stream);
  }
}
