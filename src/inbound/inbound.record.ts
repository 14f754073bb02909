// An inbound message and an inbound rule as the domain reads them back.
import type { InboundState } from "./inbound.schema.js";
import type { PostmarkInboundMessage } from "./inbound-message.format.js";

/** An inbound message as the domain reads it back. */
export interface InboundRecord {
  id: string;
  workspaceId: string;
  state: InboundState;
  tag: string | null;
  blockedReason: string | null;
  /** The webhook payload as posted (Postmark's inbound format: what the inbound webhook is). */
  payload: PostmarkInboundMessage;
  receivedAt: number;
  /** When retention removed its content (the MIME, the payload's bodies and attachment contents); null while kept. */
  bodyRemovedAt: number | null;
}

export interface InboundRule {
  id: number;
  rule: string;
}
