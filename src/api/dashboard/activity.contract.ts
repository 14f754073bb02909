// What the dashboard's activity calls take and answer (issue 13): the message list with its
// filters and cursors, one message's detail with its timeline, and the states of shown rows. The
// web dashboard imports these types (web/src/pages/activity/), so a change here that the pages do
// not follow fails the type check of web/.
import { z } from "zod";

/** A message's state in Posthorn's words (DESIGN.md § Words), summed over its recipients. */
export const ActivityState = z.enum(["accepted", "queued", "deferred", "delivered", "bounced", "suppressed", "expired"]);
export type ActivityState = z.infer<typeof ActivityState>;

/** A day (2026-12-05) or a moment (ISO 8601, or milliseconds since the epoch). */
const Moment = z.string().max(40).regex(/^(\d{1,15}|\d{4}-\d\d-\d\d([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?)$/, "a date, an ISO 8601 time or milliseconds");
/** An opaque position in the list, as answered in `next` or `newest`. */
const Cursor = z.string().max(200).regex(/^[A-Za-z0-9_-]+$/, "a cursor from a previous answer");

export const MessageListQuery = z
  .object({
    recipient: z.string().trim().max(320).optional(),
    tag: z.string().max(1_000).optional(),
    state: ActivityState.optional(),
    stream: z.string().max(100).optional(),
    /** From this moment on; a day means its start (UTC). */
    from: Moment.optional(),
    /** Up to this moment; a day means its end (UTC). */
    to: Moment.optional(),
    /** Words to find in the subject or a recipient's address (src/messages/activity/search-words.ts). */
    q: z
      .string()
      .trim()
      .max(200)
      .refine((q) => q === "" || /[\p{L}\p{N}]/u.test(q), "search needs a word: a letter or a digit (punctuation only separates words)")
      .refine((q) => (q.match(/[\p{L}\p{N}\p{M}]+/gu)?.length ?? 0) <= 8, "search takes at most 8 words")
      .optional(),
    /** Older than this position (the answer's `next`). */
    before: Cursor.optional(),
    /** Newer than this position (the answer's `newest`): what arrived since. */
    after: Cursor.optional(),
    count: z.coerce.number().int().min(1).max(100).default(50),
  })
  .strict()
  .refine((q) => !(q.before && q.after), { message: "before and after cannot both be given", path: ["after"] });
export type MessageListQuery = z.input<typeof MessageListQuery>;

export const MessageSummary = z.object({
  id: z.string(),
  acceptedAt: z.number(),
  stream: z.string(),
  from: z.string(),
  /** To, Cc and Bcc addresses. */
  recipients: z.array(z.string()),
  subject: z.string(),
  tag: z.string().nullable(),
  state: ActivityState,
  sandboxed: z.boolean(),
});
export type MessageSummary = z.infer<typeof MessageSummary>;

export const MessageListAnswer = z.object({
  /** Newest first. */
  messages: z.array(MessageSummary),
  /** Ask with before=next for older messages; null when nothing older matches. */
  next: z.string().nullable(),
  /** The position of the newest message answered (or the `after` asked, when none is newer): poll with after=newest. */
  newest: z.string().nullable(),
  /**
   * Whether the search stopped at its scan bound before filling the page (a rare word): the page
   * may be short, and `next` goes on from where it stopped.
   */
  partial: z.boolean(),
  /**
   * A search, while the messages accepted before search existed are still being indexed: older
   * matches may be missing. (New messages are searchable about a second after acceptance.)
   */
  searchIndexing: z.boolean(),
});
export type MessageListAnswer = z.infer<typeof MessageListAnswer>;

export const MessageStatesQuery = z.object({ ids: z.string().max(100 * 40) }).strict();
export const MessageStatesAnswer = z.object({ states: z.record(z.string(), ActivityState) });
export type MessageStatesAnswer = z.infer<typeof MessageStatesAnswer>;

export const MessageParams = z.object({ workspaceId: z.string().max(100), messageId: z.string().min(1).max(100) });
export const WorkspaceParams = z.object({ workspaceId: z.string().max(100) });
export const HtmlQuery = z.object({ remote: z.enum(["0", "1"]).optional() }).strict();

const Mailbox = z.object({ email: z.string(), name: z.string() });

export const RecipientState = z.object({
  email: z.string(),
  state: z.enum(["queued", "deferred", "delivered", "bounced", "suppressed", "expired"]),
  attempts: z.number(),
  lastReply: z.string().nullable(),
});

/** One entry of a message's timeline. */
export const TimelineEntry = z.object({
  at: z.number(),
  /** accepted, attempt, delivered, deferred, bounced, expired, suppressed, opened, clicked, webhook, … */
  kind: z.string(),
  /** The event's own type ("delivery.deferred"), for a bug report. */
  type: z.string(),
  recipient: z.string().nullable(),
  /** What happened, in a line. */
  summary: z.string(),
  /** The MX host of an attempt, when one was reached. */
  remoteHost: z.string().nullable(),
  /** The remote server's reply to an attempt ("250 2.0.0 Ok: queued as …"). */
  reply: z.string().nullable(),
  /**
   * What was done about DKIM, on each attempt's outcome (and a sandbox's acceptance): "signed
   * d=brand.test s=ph20261206 (rsa-sha256)", or "not signed: …" and why. Null where not recorded
   * (outcomes recorded before the MTA kept it).
   */
  dkim: z.object({ signed: z.boolean(), summary: z.string() }).nullable(),
  /** A webhook attempt (kind "webhook") with what the endpoint answered; null on other entries. */
  webhook: z
    .object({
      /** scheme://host/path, never credentials or query; null once the endpoint was deleted. */
      endpoint: z.string().nullable(),
      /** The event type that asked for the post ("delivery.delivered"). */
      cause: z.string().nullable(),
      attempt: z.number(),
      outcome: z.enum(["posted", "retried", "will-retry", "failed", "dropped"]),
      /** The HTTP status; null when nothing answered (see error). */
      status: z.number().nullable(),
      durationMs: z.number(),
      /** The start of the answer's body (1 KB at most), as text: show it as text, never as markup. */
      response: z.string().nullable(),
      /** The body's whole size in bytes, when known. */
      responseBytes: z.number().nullable(),
      /** Whether `response` is only the start of the body. */
      responseCut: z.boolean(),
      error: z.string().nullable(),
    })
    .nullable(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const LinkCheck = z.object({
  href: z.string(),
  text: z.string(),
  /** Why the link needs a look: "http" (not encrypted), "empty" or "placeholder" (#); null: fine. */
  problem: z.enum(["http", "empty", "placeholder"]).nullable(),
});
export type LinkCheck = z.infer<typeof LinkCheck>;

export const MessageDetailAnswer = z.object({
  id: z.string(),
  acceptedAt: z.number(),
  stream: z.string(),
  state: ActivityState,
  sandboxed: z.boolean(),
  envelopeFrom: z.string(),
  from: Mailbox,
  to: z.array(Mailbox),
  cc: z.array(Mailbox),
  bcc: z.array(Mailbox),
  subject: z.string(),
  tag: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  attachments: z.array(z.string()),
  textBody: z.string().nullable(),
  hasHtml: z.boolean(),
  headers: z.array(z.object({ name: z.string(), value: z.string() })),
  recipients: z.array(RecipientState),
  timeline: z.array(TimelineEntry),
  /** The links of the HTML part, each checked (the developer inbox shows them). */
  links: z.array(LinkCheck),
  mimeBytes: z.number(),
  /** When retention removed the body (ms); the text, HTML and raw source are gone, the rest stays. null while kept. */
  bodyRemovedAt: z.number().nullable(),
});
export type MessageDetailAnswer = z.infer<typeof MessageDetailAnswer>;
