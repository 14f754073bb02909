// Bounce records (Postmark's /bounces model). A bounce whose type deactivates the address
// (HardBounce, SpamComplaint, …) also suppresses the recipient on the message's stream, in the
// same transaction, so the next send to it is refused.
import type { Db } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { SuppressionsService } from "../suppressions/suppressions.service.js";
import { BOUNCE_TYPES, type BounceType } from "./bounce-types.js";

export interface BounceInput {
  workspaceId: string;
  messageId: string;
  stream: string;
  type: BounceType;
  email: string;
  fromHeader: string;
  subject: string;
  tag: string | null;
  /** The remote server's reply or the reason we gave up. */
  details: string;
}

export class BouncesService {
  constructor(private readonly deps: { clock: Clock; suppressions: SuppressionsService }) {}

  /** Records a bounce and returns its numeric id (Postmark's BounceID). */
  async record(db: Db, input: BounceInput): Promise<number> {
    const type = BOUNCE_TYPES[input.type];
    const now = this.deps.clock.now();
    const row = await db
      .insertInto("bounces")
      .values({
        workspace_id: input.workspaceId,
        message_id: input.messageId,
        stream: input.stream,
        type: input.type,
        type_code: type.code,
        email: input.email,
        from_header: input.fromHeader,
        subject: input.subject,
        tag: input.tag,
        description: type.name,
        details: input.details,
        inactive: type.deactivates ? 1 : 0,
        can_activate: type.deactivates ? 1 : 0,
        bounced_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    if (type.deactivates) {
      await this.deps.suppressions.suppress(db, {
        workspaceId: input.workspaceId,
        stream: input.stream,
        email: input.email,
        reason: input.type === "SpamComplaint" ? "SpamComplaint" : input.type === "HardBounce" ? "HardBounce" : "ManualSuppression",
        origin: "Recipient",
      });
    }
    return Number(row.id);
  }
}
