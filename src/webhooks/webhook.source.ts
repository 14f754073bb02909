// What a kind of webhook posts, and where: a domain that wants its records posted registers a
// source (the inbound domain: each inbound message, to its workspace's InboundHookUrl), and the
// dispatcher asks it at each attempt, so a URL changed meanwhile is the one used.
export interface WebhookTarget {
  url: string;
  /** The JSON body, as posted. */
  body: string;
}

export interface WebhookSource {
  readonly kind: string;
  /** Where to post and what; null when nothing is to be posted any more (no URL configured). */
  target(workspaceId: string, subjectId: string): Promise<WebhookTarget | null>;
}
