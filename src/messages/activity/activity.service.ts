// The dashboard's reads of accepted messages (issue 13): the activity list by keyset with its
// filters, the states of listed messages (for a live list), and one message's detail with its
// timeline, headers and links. Edges call this; the SQL is in activity.repository.ts.
import type { Store } from "../../store/store.js";
import type { MessagesService } from "../messages.service.js";
import type { MessageRecord } from "../message.record.js";
import { fieldValue, splitMessage } from "../raw-headers.js";
import type { ActivityRepository, RecipientDelivery } from "./activity.repository.js";
import { sumStates, type ActivityPage, type ActivityQuery, type ActivityState } from "./activity.types.js";
import { timelineOf, type TimelineEntry } from "./timeline.js";
import { checkLinks, type CheckedLink } from "./link-check.js";
import type { WebhookTrail } from "../../webhooks/webhook-trail.js";

export interface ActivityDetail extends MessageRecord {
  activityState: ActivityState;
  textBody: string | null;
  htmlBody: string | null;
  headers: Array<{ name: string; value: string }>;
  recipients: RecipientDelivery[];
  timeline: TimelineEntry[];
  links: CheckedLink[];
  mimeBytes: number;
  /** When retention removed the body; null while kept. */
  bodyRemovedAt: number | null;
}

/** Header fields shown are capped: a mail with thousands of Received lines stays readable. */
const MAX_HEADERS = 200;

export class ActivityService {
  constructor(
    private readonly deps: {
      store: Store;
      repository: ActivityRepository;
      messages: Pick<MessagesService, "details" | "mime">;
      /** The webhook attempts about a message, for its timeline; without it the timeline has none. */
      webhooks?: Pick<WebhookTrail, "aboutMessage">;
    },
  ) {}

  list(query: ActivityQuery): Promise<ActivityPage> {
    return this.deps.repository.page(this.deps.store.db, query);
  }

  /** The current states of messages of the workspace, by id (others are left out). */
  states(workspaceId: string, ids: string[]): Promise<Map<string, ActivityState>> {
    return this.deps.repository.states(this.deps.store.db, workspaceId, ids);
  }

  /** One message with everything the detail shows; MESSAGE_NOT_FOUND outside the workspace. */
  async detail(workspaceId: string, id: string): Promise<ActivityDetail> {
    const details = await this.deps.messages.details(workspaceId, id);
    // Read after the message was found in the workspace, so another workspace's id costs nothing more.
    const [recipients, webhookAttempts] = await Promise.all([this.deps.repository.recipients(this.deps.store.db, workspaceId, id), this.deps.webhooks?.aboutMessage(workspaceId, id) ?? []]);
    const { mime, events, ...record } = details;
    const headers = splitMessage(mime).fields.slice(0, MAX_HEADERS).map((f) => ({ name: f.name, value: fieldValue(f) }));
    return {
      ...record,
      activityState: sumStates(recipients.map((r) => r.state)),
      headers,
      recipients,
      timeline: timelineOf(events, webhookAttempts),
      links: checkLinks(details.htmlBody),
      mimeBytes: mime.length,
    };
  }

  /** The message as stored and sent (RFC 5322). */
  mime(workspaceId: string, id: string): Promise<Buffer> {
    return this.deps.messages.mime(workspaceId, id);
  }

  /** The HTML part, or null when the message has none. */
  async html(workspaceId: string, id: string): Promise<string | null> {
    return (await this.deps.messages.details(workspaceId, id)).htmlBody;
  }
}
