// An outbound webhook as the domain reads it, in Posthorn's words: an endpoint of one stream,
// with what it wants posted (its triggers). The Postmark edge maps it to Postmark's Webhook.
export interface WebhookTriggers {
  open: { enabled: boolean; firstOpenOnly: boolean };
  click: { enabled: boolean };
  delivery: { enabled: boolean };
  bounce: { enabled: boolean; includeContent: boolean };
  complaint: { enabled: boolean; includeContent: boolean };
  subscriptionChange: { enabled: boolean };
}

export type TriggerName = keyof WebhookTriggers;

export interface WebhookHeader {
  name: string;
  value: string;
}

export interface WebhookRecord {
  id: number;
  workspaceId: string;
  stream: string;
  url: string;
  auth: { username: string; password: string } | null;
  headers: WebhookHeader[];
  triggers: WebhookTriggers;
  /** Made by PUT /server's hook URLs (bounce, open, delivery, click); null otherwise. */
  legacy: LegacyHook | null;
}

export const LEGACY_HOOKS = ["bounce", "open", "delivery", "click"] as const;
export type LegacyHook = (typeof LEGACY_HOOKS)[number];

/** What a create or an update asks for; an update leaves out what it does not change. */
export interface WebhookChanges {
  url?: string;
  /** null: no credentials. */
  auth?: { username: string; password: string } | null;
  headers?: WebhookHeader[];
  triggers?: { [K in TriggerName]?: Partial<WebhookTriggers[K]> };
}

export function noTriggers(): WebhookTriggers {
  return {
    open: { enabled: false, firstOpenOnly: false },
    click: { enabled: false },
    delivery: { enabled: false },
    bounce: { enabled: false, includeContent: false },
    complaint: { enabled: false, includeContent: false },
    subscriptionChange: { enabled: false },
  };
}
