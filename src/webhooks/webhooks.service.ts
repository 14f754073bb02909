// Outbound webhook endpoints: a workspace registers URLs per stream with the events it wants
// posted (triggers). Checked here, once for every door (the Postmark API's /webhooks, PUT
// /server's legacy hook URLs): an http(s) URL that does not name an internal address literally
// (names are checked when the post connects, webhook-destinations.ts), bounded headers and
// credentials, at most MAX_WEBHOOKS_PER_STREAM endpoints per stream. The HttpAuth password is
// sealed at rest; it is never logged.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { SecretBox } from "../sending-domains/secret-box.js";
import type { WorkspacesService } from "../workspaces/workspaces.service.js";
import type { DestinationPolicy } from "./webhook-destinations.js";
import type { WebhooksRepository, WebhookRowChanges } from "./webhooks.repository.js";
import type { WebhookRow } from "./webhooks.schema.js";
import { noTriggers, type LegacyHook, type WebhookChanges, type WebhookHeader, type WebhookRecord, type WebhookTriggers } from "./webhook.record.js";
import { WebhookInvalid, WebhookLimitReached, WebhookNotFound, WebhookUrlInvalid } from "./webhooks.errors.js";

/** Endpoints per stream: each event is posted to each, so this bounds the posts one event makes. */
export const MAX_WEBHOOKS_PER_STREAM = 10;
export const MAX_URL_LENGTH = 2048;
export const MAX_HEADERS = 20;
const MAX_HEADER_NAME = 128;
const MAX_HEADER_VALUE = 1024;
const MAX_CREDENTIAL = 256;
/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the post sets itself: a user's value would break the request or forge its signature. */
const RESERVED_HEADERS = new Set(["host", "content-length", "content-type", "transfer-encoding", "connection", "authorization", "x-posthorn-signature"]);
/** The default outbound stream, which PUT /server's legacy hook URLs configure (as Postmark does). */
export const LEGACY_STREAM = "outbound";

export interface WebhooksServiceDeps {
  store: Store;
  clock: Clock;
  repository: WebhooksRepository;
  workspaces: Pick<WorkspacesService, "assertSendableStream">;
  secrets: SecretBox;
  /** Literal internal addresses are refused at once; names are checked when a post connects. */
  destinations: DestinationPolicy;
}

export class WebhooksService {
  constructor(private readonly deps: WebhooksServiceDeps) {}

  /** The workspace's webhooks, of one stream when given (which must exist: STREAM_NOT_FOUND otherwise). */
  async list(workspaceId: string, stream?: string): Promise<WebhookRecord[]> {
    if (stream !== undefined) await this.deps.workspaces.assertSendableStream(workspaceId, stream);
    const rows = await this.deps.repository.list(this.deps.store.db, workspaceId, stream);
    return rows.map((r) => this.toRecord(r));
  }

  async get(workspaceId: string, id: number): Promise<WebhookRecord> {
    const row = Number.isSafeInteger(id) ? await this.deps.repository.find(this.deps.store.db, workspaceId, id) : null;
    if (!row) throw WebhookNotFound(`Webhook '${id}' was not found.`);
    return this.toRecord(row);
  }

  async create(workspaceId: string, stream: string, changes: WebhookChanges, legacy: LegacyHook | null = null): Promise<WebhookRecord> {
    if (changes.url === undefined) throw WebhookUrlInvalid("A webhook needs a Url.");
    await this.deps.workspaces.assertSendableStream(workspaceId, stream);
    const columns = this.columns(changes, noTriggers());
    const now = this.deps.clock.now();
    const id = await this.deps.store.write(async (trx) => {
      if ((await this.deps.repository.countForStream(trx, workspaceId, stream)) >= MAX_WEBHOOKS_PER_STREAM) {
        throw WebhookLimitReached(`The stream '${stream}' already has ${MAX_WEBHOOKS_PER_STREAM} webhooks, the most a stream may have.`);
      }
      return this.deps.repository.insert(trx, {
        workspace_id: workspaceId,
        stream,
        url: columns.url!,
        auth_username: columns.auth_username ?? null,
        auth_password_sealed: columns.auth_password_sealed ?? null,
        headers_json: columns.headers_json ?? "[]",
        ...triggerColumns(mergeTriggers(noTriggers(), changes.triggers)),
        legacy,
        created_at: now,
        updated_at: now,
      });
    });
    return this.get(workspaceId, id);
  }

  async update(workspaceId: string, id: number, changes: WebhookChanges): Promise<WebhookRecord> {
    const current = await this.get(workspaceId, id);
    const columns = this.columns(changes, current.triggers);
    await this.deps.store.write((trx) => this.deps.repository.update(trx, workspaceId, id, { ...columns, updated_at: this.deps.clock.now() }));
    return this.get(workspaceId, id);
  }

  async delete(workspaceId: string, id: number): Promise<void> {
    const deleted = Number.isSafeInteger(id) && (await this.deps.store.write((trx) => this.deps.repository.delete(trx, workspaceId, id)));
    if (!deleted) throw WebhookNotFound(`Webhook '${id}' was not found.`);
  }

  /** The webhook PUT /server's hook URL of this kind made, if any. */
  async legacy(workspaceId: string, kind: LegacyHook): Promise<WebhookRecord | null> {
    const row = await this.deps.repository.findLegacy(this.deps.store.db, workspaceId, kind);
    return row ? this.toRecord(row) : null;
  }

  /** Sets (or with an empty URL removes) the legacy hook of one kind: a webhook of the outbound stream with that one trigger. */
  async setLegacy(workspaceId: string, kind: LegacyHook, url: string, triggers: WebhookChanges["triggers"]): Promise<void> {
    const existing = await this.legacy(workspaceId, kind);
    if (url === "") {
      if (existing) await this.delete(workspaceId, existing.id);
      return;
    }
    if (existing) await this.update(workspaceId, existing.id, { url, triggers });
    else await this.create(workspaceId, LEGACY_STREAM, { url, triggers }, kind);
  }

  /** Every endpoint of these workspaces, with credentials opened (the consumer and the dispatcher). */
  async endpointsOf(workspaceIds: string[]): Promise<WebhookRecord[]> {
    return (await this.deps.repository.forWorkspaces(this.deps.store.db, workspaceIds)).map((r) => this.toRecord(r));
  }

  /** One endpoint by id, or null once deleted (the dispatcher then drops its posts). */
  async endpoint(id: number): Promise<WebhookRecord | null> {
    const row = await this.deps.repository.byId(this.deps.store.db, id);
    return row ? this.toRecord(row) : null;
  }

  /** The columns a change sets, checked. */
  private columns(changes: WebhookChanges, triggers: WebhookTriggers): WebhookRowChanges {
    const columns: WebhookRowChanges = {};
    if (changes.url !== undefined) columns.url = this.checkedUrl(changes.url);
    if (changes.auth !== undefined) {
      const auth = checkedAuth(changes.auth);
      columns.auth_username = auth?.username ?? null;
      columns.auth_password_sealed = auth ? this.deps.secrets.seal(auth.password, "webhook-auth") : null;
    }
    if (changes.headers !== undefined) columns.headers_json = JSON.stringify(checkedHeaders(changes.headers));
    if (changes.triggers !== undefined) Object.assign(columns, triggerColumns(mergeTriggers(triggers, changes.triggers)));
    return columns;
  }

  /** A URL as a webhook may have it, or WEBHOOK_URL_INVALID (callers that change several things check first). */
  checkedUrl(text: string): string {
    if (text.length === 0 || text.length > MAX_URL_LENGTH) throw WebhookUrlInvalid(`The webhook URL must be 1 to ${MAX_URL_LENGTH} characters.`);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw WebhookUrlInvalid(`'${text}' is not a valid URL.`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw WebhookUrlInvalid("The webhook URL must be an http or https URL.");
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (host === "") throw WebhookUrlInvalid("The webhook URL must name a host.");
    // URL parsing has made a dotted quad of 2130706433 or 0x7f.1: a literal address is judged now.
    if (/^[\d.]+$|:/.test(host) && !this.deps.destinations.allows(host)) {
      throw WebhookUrlInvalid("The webhook URL must not point at an internal address (loopback, private, link-local or reserved).");
    }
    return text;
  }

  private toRecord(row: WebhookRow): WebhookRecord {
    const auth = row.auth_username !== null && row.auth_password_sealed !== null ? { username: row.auth_username, password: this.deps.secrets.open(row.auth_password_sealed, "webhook-auth").toString("utf8") } : null;
    return {
      id: Number(row.id),
      workspaceId: row.workspace_id,
      stream: row.stream,
      url: row.url,
      auth,
      headers: JSON.parse(row.headers_json) as WebhookHeader[],
      triggers: {
        open: { enabled: row.on_open === 1, firstOpenOnly: row.open_first_only === 1 },
        click: { enabled: row.on_click === 1 },
        delivery: { enabled: row.on_delivery === 1 },
        bounce: { enabled: row.on_bounce === 1, includeContent: row.bounce_content === 1 },
        complaint: { enabled: row.on_complaint === 1, includeContent: row.complaint_content === 1 },
        subscriptionChange: { enabled: row.on_subscription_change === 1 },
      },
      legacy: (row.legacy as LegacyHook | null) ?? null,
    };
  }
}

function checkedAuth(auth: { username: string; password: string } | null): { username: string; password: string } | null {
  if (auth === null || (auth.username === "" && auth.password === "")) return null;
  if (auth.username.length > MAX_CREDENTIAL || auth.password.length > MAX_CREDENTIAL) throw WebhookInvalid(`HttpAuth Username and Password must be at most ${MAX_CREDENTIAL} characters.`);
  // Basic auth (RFC 7617) cannot carry a colon in the user name, nor control characters in either.
  if (auth.username.includes(":") || hasControlCharacter(auth.username + auth.password)) throw WebhookInvalid("HttpAuth Username must not contain ':' and neither may contain control characters.");
  return auth;
}

function checkedHeaders(headers: WebhookHeader[]): WebhookHeader[] {
  if (headers.length > MAX_HEADERS) throw WebhookInvalid(`A webhook may have at most ${MAX_HEADERS} HttpHeaders.`);
  for (const h of headers) {
    if (!HEADER_NAME.test(h.name) || h.name.length > MAX_HEADER_NAME) throw WebhookInvalid(`'${h.name.slice(0, MAX_HEADER_NAME)}' is not a valid header name.`);
    if (RESERVED_HEADERS.has(h.name.toLowerCase())) throw WebhookInvalid(`The header '${h.name}' is set by Posthorn and cannot be configured.`);
    if (h.value.length > MAX_HEADER_VALUE || hasControlCharacter(h.value, true)) throw WebhookInvalid(`The value of header '${h.name}' must be at most ${MAX_HEADER_VALUE} characters without line breaks.`);
  }
  return headers.map((h) => ({ name: h.name, value: h.value }));
}

/** Whether text holds a control character (C0 or DEL), or with `lineBreaksOnly` a CR, LF or NUL (a header value may hold a tab). */
function hasControlCharacter(text: string, lineBreaksOnly = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (lineBreaksOnly ? c === 0x0d || c === 0x0a || c === 0x00 : c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function mergeTriggers(current: WebhookTriggers, changes: WebhookChanges["triggers"]): WebhookTriggers {
  const merged = structuredClone(current);
  for (const [name, change] of Object.entries(changes ?? {}) as Array<[keyof WebhookTriggers, object | undefined]>) {
    if (change) Object.assign(merged[name], change);
  }
  return merged;
}

function triggerColumns(t: WebhookTriggers) {
  const flag = (b: boolean) => (b ? 1 : 0);
  return {
    on_open: flag(t.open.enabled),
    open_first_only: flag(t.open.firstOpenOnly),
    on_click: flag(t.click.enabled),
    on_delivery: flag(t.delivery.enabled),
    on_bounce: flag(t.bounce.enabled),
    bounce_content: flag(t.bounce.includeContent),
    on_complaint: flag(t.complaint.enabled),
    complaint_content: flag(t.complaint.includeContent),
    on_subscription_change: flag(t.subscriptionChange.enabled),
  };
}
