// Opens, clicks and unsubscribes: what happens when a tracking URL is fetched, and the searches
// over what was recorded. Each fetch is one transaction: a row in tracked_reads (for the list
// calls and their filters) and its event (delivery.opened / delivery.clicked, for webhooks and
// stats); an unsubscribe is a suppression and its suppression.added event. See README.md.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Outbox } from "../events/outbox.js";
import type { GeoData, ReaderData } from "../events/event-map.js";
import type { SuppressionsService } from "../suppressions/suppressions.service.js";
import { MessageNotFound } from "../messages/accept.errors.js";
import { TrackingRepository, type ReadFilter, type TrackedMessage, type TrackedReadRow } from "./tracking.repository.js";
import { TrackingTokens, tokenMailbox, tokenOfMailbox, type LinkLocation, type TrackingToken } from "./tracking-tokens.js";
import { readerOf } from "./reader.js";
import type { GeoLookup } from "./geo.js";

export type { ReadFilter, TrackedReadRow } from "./tracking.repository.js";

/** Who fetched a URL, as the HTTP edge saw the request. */
export interface Fetcher {
  userAgent: string | undefined;
  ip: string | null;
}

export interface TrackingServiceDeps {
  store: Store;
  clock: Clock;
  outbox: Outbox;
  suppressions: Pick<SuppressionsService, "suppress">;
  tokens: TrackingTokens;
  geo: GeoLookup;
  /** The configured base URL (POSTHORN_TRACKING_BASE_URL), or null to use the API listener's. */
  baseUrl: string | null;
  /** The base URL when none is configured. */
  fallbackBaseUrl: string;
  /** The API listener's URL replaces the fallback once known (a listener on port 0, in tests). */
  listenerDecides: boolean;
  /**
   * Where the mailto: form of unsubscribe links points (the installation's return-path domain,
   * whose mail reaches the inbound listener); null when this installation receives no mail, and
   * so offers only the https form.
   */
  unsubscribeMailDomain?: string | null;
}

export class TrackingService {
  private readonly repo = new TrackingRepository();
  private listenerUrl: string | null = null;

  constructor(private readonly deps: TrackingServiceDeps) {}

  /** The API listener's own URL; used when it decides (see TrackingServiceDeps.listenerDecides). */
  useListenerUrl(url: string): void {
    if (this.deps.listenerDecides) this.listenerUrl = url;
  }

  get repository(): TrackingRepository {
    return this.repo;
  }

  private base(): string {
    return (this.deps.baseUrl ?? this.listenerUrl ?? this.deps.fallbackBaseUrl).replace(/\/+$/, "");
  }

  /** deliveryId: the URL of one recipient's copy (a message to several recipients); absent: the message's. */
  openUrl(messageId: string, deliveryId?: number): string {
    return `${this.base()}/t/o/${this.deps.tokens.sign({ kind: "open", messageId, ...delivery(deliveryId) })}`;
  }

  clickUrl(messageId: string, location: LinkLocation, url: string, deliveryId?: number): string {
    return `${this.base()}/t/c/${this.deps.tokens.sign({ kind: "click", messageId, location, url, ...delivery(deliveryId) })}`;
  }

  unsubscribeUrl(messageId: string, deliveryId?: number): string {
    return `${this.base()}/t/u/${this.deps.tokens.sign({ kind: "unsubscribe", messageId, ...delivery(deliveryId) })}`;
  }

  /** The mailto: form of the unsubscribe link (RFC 2369), or null when no mail domain is configured. */
  unsubscribeMailto(messageId: string, deliveryId?: number): string | null {
    const domain = this.deps.unsubscribeMailDomain ?? null;
    if (domain === null) return null;
    return `mailto:${tokenMailbox(this.deps.tokens.sign({ kind: "unsubscribe", messageId, ...delivery(deliveryId) }))}@${domain}?subject=unsubscribe`;
  }

  /** Whether a local part is the mailbox form of a valid unsubscribe token (the inbound listener's RCPT check). */
  isUnsubscribeMailbox(localPart: string): boolean {
    const token = tokenOfMailbox(localPart);
    return token !== null && this.deps.tokens.verify(token)?.kind === "unsubscribe";
  }

  /** Mail to an unsubscribe mailbox: unsubscribes as the link's POST does (null when it is not one). */
  async unsubscribeByMail(localPart: string): Promise<TrackedMessage | null> {
    const token = tokenOfMailbox(localPart);
    return token === null ? null : this.unsubscribe(token);
  }

  /** What a token says, without recording anything (HEAD requests); null when it is not one of ours. */
  inspect(token: string): TrackingToken | null {
    return this.deps.tokens.verify(token);
  }

  /** Records an open; false when the token is not one of ours or its message is gone. */
  async recordOpen(token: string, fetcher: Fetcher): Promise<boolean> {
    return (await this.recordOpenRead(token, fetcher)) !== null;
  }

  /**
   * Records an open and says which record it is, for its read time to be added when the pixel's
   * fetch ends (recordReadTime), and whether a proxy fetched it (then no read time is measured).
   */
  async recordOpenRead(token: string, fetcher: Fetcher): Promise<{ openId: number; proxied: boolean } | null> {
    const claim = this.deps.tokens.verify(token);
    if (claim?.kind !== "open") return null;
    const recorded = await this.record(claim, fetcher, "open");
    return recorded === null ? null : { openId: recorded.readId, proxied: recorded.proxied };
  }

  /** An open's pixel stopped loading after `seconds`: its read time, recorded once, with delivery.read-time for the stats. */
  async recordReadTime(openId: number, seconds: number, capped = false): Promise<void> {
    await this.deps.store.write(
      async (trx) => {
        const open = await this.repo.setReadSeconds(trx, openId, seconds);
        if (!open) return;
        await this.deps.outbox.emit(trx, [{ type: "delivery.read-time", workspaceId: open.workspace_id, messageId: open.message_id, recipient: open.recipient, data: { stream: open.stream, seconds, capped, openId } }]);
      },
      // As the open itself: a read time lost with the machine is a missing statistic.
      { durability: "relaxed" },
    );
  }

  /** Records a click and returns the signed original URL; null when the token is not one of ours. */
  async recordClick(token: string, fetcher: Fetcher): Promise<string | null> {
    const claim = this.deps.tokens.verify(token);
    if (claim?.kind !== "click") return null;
    const recorded = await this.record(claim, fetcher, "click", { link: claim.url, location: claim.location });
    return recorded === null ? null : claim.url;
  }

  /** Whether the token is a valid unsubscribe link (for the confirmation page), without acting on it. */
  async unsubscribeTarget(token: string): Promise<TrackedMessage | null> {
    const claim = this.deps.tokens.verify(token);
    if (claim?.kind !== "unsubscribe") return null;
    const message = await this.repo.message(this.deps.store.db, claim.messageId, claim.deliveryId);
    return message?.recipient ? message : null;
  }

  /**
   * Suppresses the recipient on the message's stream (ManualSuppression, origin Recipient) and
   * announces it; repeating it changes nothing. Null when the token is not a valid unsubscribe link.
   */
  async unsubscribe(token: string): Promise<TrackedMessage | null> {
    const claim = this.deps.tokens.verify(token);
    if (claim?.kind !== "unsubscribe") return null;
    return this.deps.store.write(async (trx) => {
      const message = await this.repo.message(trx, claim.messageId, claim.deliveryId);
      if (!message?.recipient) return null;
      const input = { workspaceId: message.workspaceId, stream: message.stream, email: message.recipient, reason: "ManualSuppression" as const, origin: "Recipient" as const };
      if (await this.deps.suppressions.suppress(trx, input)) {
        await this.deps.outbox.emit(trx, [
          {
            type: "suppression.added",
            workspaceId: message.workspaceId,
            messageId: claim.messageId,
            recipient: message.recipient,
            data: { stream: message.stream, reason: input.reason, origin: input.origin },
          },
        ]);
      }
      return message;
    });
  }

  async search(filter: ReadFilter, page: { count: number; offset: number }): Promise<{ total: number; records: TrackedReadRow[] }> {
    if (filter.messageId !== undefined) {
      const message = await this.repo.message(this.deps.store.db, filter.messageId);
      if (message?.workspaceId !== filter.workspaceId) throw MessageNotFound(`No message with id ${filter.messageId} in this workspace.`);
    }
    const { total, rows } = await this.repo.search(this.deps.store.db, filter, page);
    return { total, records: rows };
  }

  private async record(claim: { messageId: string; deliveryId?: number }, fetcher: Fetcher, kind: "open" | "click", click?: { link: string; location: LinkLocation }): Promise<(TrackedMessage & { readId: number; proxied: boolean }) | null> {
    const messageId = claim.messageId;
    const reader = readerOf(fetcher.userAgent, fetcher.ip, null);
    const geo: GeoData | null = reader.proxied ? null : await this.deps.geo.lookup(fetcher.ip);
    const data: ReaderData = { ...reader, geo };
    const now = this.deps.clock.now();
    // Relaxed durability: a read lost with the machine is a missing statistic, not lost mail.
    return this.deps.store.write(
      async (trx) => {
        const message = await this.repo.message(trx, messageId, claim.deliveryId);
        if (!message) return null;
        const q = { workspaceId: message.workspaceId, messageId, recipient: message.recipient };
        const first = !data.proxied && !(await this.repo.hasHumanRead(trx, { ...q, kind, link: click?.link }));
        const readId = await this.repo.insertRead(trx, {
          workspace_id: message.workspaceId,
          kind,
          message_id: messageId,
          stream: message.stream,
          recipient: message.recipient,
          tag: message.tag,
          at: now,
          first: first ? 1 : 0,
          proxied: data.proxied ? 1 : 0,
          link: click?.link ?? null,
          location: click?.location ?? null,
          user_agent: data.userAgent,
          client_name: data.client.name,
          client_company: data.client.company,
          client_family: data.client.family,
          os_name: data.os.name,
          os_company: data.os.company,
          os_family: data.os.family,
          platform: data.platform,
          ip: data.ip,
          country_iso: geo?.countryIso ?? null,
          country: geo?.country ?? null,
          region_iso: geo?.regionIso ?? null,
          region: geo?.region ?? null,
          city: geo?.city ?? null,
          zip: geo?.zip ?? null,
          coords: geo?.coords ?? null,
        });
        const about = { workspaceId: message.workspaceId, messageId, recipient: message.recipient };
        if (click) {
          await this.deps.outbox.emit(trx, [{ ...about, type: "delivery.clicked", data: { ...data, stream: message.stream, link: click.link, location: click.location, firstClick: first } }]);
        } else {
          await this.deps.outbox.emit(trx, [{ ...about, type: "delivery.opened", data: { ...data, stream: message.stream, firstOpen: first } }]);
        }
        return { ...message, readId, proxied: data.proxied };
      },
      { durability: "relaxed" },
    );
  }
}

function delivery(deliveryId: number | undefined): { deliveryId?: number } {
  return deliveryId === undefined ? {} : { deliveryId };
}
