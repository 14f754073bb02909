// Workspaces (tenants), their message streams and their API tokens. Tokens are shown once and
// stored as SHA-256 hashes; authentication looks a token up by its hash.
import type { Db, Store } from "../store/store.js";
import type { StreamsTable } from "../store/schema.js";
import type { Clock } from "../shared/clock.js";
import { hashToken, newId, newSecretToken, randomHex } from "../shared/ids.js";
import { InboundDomainTaken, SmtpDisabled, TokenLastServer, TokenNotFound, WorkspaceExists, WorkspaceNameInvalid, WorkspaceNotFound, StreamArchived, StreamNotFound, StreamNotSendable } from "./workspaces.errors.js";
import { DEFAULT_STREAMS } from "./default-streams.js";
import { settingsColumns, WorkspacesRepository, type InboundSettings, type TokenSummary, type Workspace } from "./workspaces.repository.js";
import { checkChange, DEFAULT_SETTINGS, type WorkspaceChange, type WorkspaceSettings } from "./workspace-settings.js";

export type { InboundSettings, TokenSummary, Workspace } from "./workspaces.repository.js";
export type { WorkspaceChange, WorkspaceSettings } from "./workspace-settings.js";

/** What `posthorn token create --track` prints: each secret is shown once. */
export interface TrackCredentials {
  siteId: string;
  apiKey: string;
  writeKey: string;
  appKey: string;
}

/** Who an SMTP AUTH names: the workspace, and the stream its mail must go to (SMTP token pairs are per stream). */
export interface SmtpIdentity {
  workspace: Workspace;
  /** null: any sendable stream, chosen by X-PM-Message-Stream (server token as username and password). */
  stream: string | null;
}

// Spaces are allowed inside a name (Postmark's server names have them: "Staging Server"), not at
// its ends, so that a name typed on a command line cannot differ from the stored one by a space.
const NAME_PATTERN = /^(?=.{1,64}$)[A-Za-z0-9._-](?:[A-Za-z0-9 ._-]*[A-Za-z0-9._-])?$/;
/** How long a verified token stays cached; short, so a revoked token stops working quickly. */
const AUTH_CACHE_MS = 5_000;
const AUTH_CACHE_MAX = 10_000;
/**
 * How long a stream's verdict (exists, type, archived) stays cached. Archiving or unarchiving
 * forgets it at once in the process that did it (forgetStream); another process (an SMTP-only
 * replica) may let an archived stream accept mail for at most this long.
 */
export const STREAM_CACHE_MS = 5_000;

export class WorkspacesService {
  private readonly repo = new WorkspacesRepository();
  private readonly authCache = new Map<string, { workspace: Workspace; until: number }>();
  private readonly streamCache = new Map<string, { type: StreamsTable["type"]; archived: boolean; until: number }>();
  private readonly smtpCache = new Map<string, { enabled: boolean; until: number }>();

  constructor(private readonly deps: { store: Store; clock: Clock }) {}

  async create(name: string, options: { sandbox: boolean; settings?: Partial<WorkspaceSettings> }): Promise<{ workspace: Workspace; serverToken: string }> {
    if (!NAME_PATTERN.test(name)) throw WorkspaceNameInvalid();
    if (options.settings) checkChange(options.settings);
    const now = this.deps.clock.now();
    const workspace: Workspace = { id: newId(), name, sandbox: options.sandbox, createdAt: now };
    const serverToken = newSecretToken();
    await this.deps.store.write(async (trx) => {
      if (await this.repo.findByName(trx, name)) throw WorkspaceExists(`A workspace named "${name}" already exists.`);
      await this.repo.insertWorkspace(trx, { id: workspace.id, name, sandbox: options.sandbox ? 1 : 0, created_at: now, inbound_hash: randomHex(16), ...settingsColumns(options.settings ?? {}) });
      await this.repo.insertStreams(trx, DEFAULT_STREAMS.map((s) => ({ ...s, workspace_id: workspace.id, created_at: now })));
      await this.repo.insertToken(trx, tokenRow(workspace.id, "server", serverToken, now));
    });
    return { workspace, serverToken };
  }

  /**
   * On first start, creates the "default" workspace in sandbox mode so that nothing leaves the
   * machine until the operator says so. Returns its token only when it was just created.
   */
  async ensureDefault(): Promise<{ workspace: Workspace; serverToken: string } | null> {
    if ((await this.repo.count(this.deps.store.db)) > 0) return null;
    try {
      return await this.create("default", { sandbox: true });
    } catch (err) {
      // Another process started at the same moment and won the race: that is fine.
      if ((err as { code?: string }).code === WorkspaceExists.code) return null;
      throw err;
    }
  }

  list(): Promise<Workspace[]> {
    return this.repo.list(this.deps.store.db);
  }

  async get(name: string): Promise<Workspace> {
    const workspace = await this.repo.findByName(this.deps.store.db, name);
    if (!workspace) throw WorkspaceNotFound(`No workspace named "${name}".`);
    return workspace;
  }

  async setSandbox(name: string, sandbox: boolean): Promise<Workspace> {
    const workspace = await this.get(name);
    await this.deps.store.write((trx) => this.repo.setSandbox(trx, workspace.id, sandbox));
    this.authCache.clear();
    return { ...workspace, sandbox };
  }

  /** Issues another server token for a workspace (the old ones stay valid). */
  async createServerToken(name: string): Promise<string> {
    const workspace = await this.get(name);
    const token = newSecretToken();
    await this.deps.store.write((trx) => this.repo.insertToken(trx, tokenRow(workspace.id, "server", token, this.deps.clock.now())));
    return token;
  }

  async createAccountToken(): Promise<string> {
    const token = newSecretToken();
    await this.deps.store.write((trx) => this.repo.insertToken(trx, tokenRow(null, "account", token, this.deps.clock.now())));
    return token;
  }

  /**
   * An SMTP token pair for one stream (Postmark's SMTP tokens: Access Key as the username, Secret
   * Key as the password). Only the hash of the pair is stored; the secret is shown once.
   */
  async createSmtpToken(name: string, streamId: string): Promise<{ accessKey: string; secretKey: string; stream: string }> {
    const workspace = await this.get(name);
    await this.assertSendableStream(workspace.id, streamId);
    const accessKey = randomHex(12);
    const secretKey = newSecretToken();
    const now = this.deps.clock.now();
    await this.deps.store.write((trx) =>
      this.repo.insertToken(trx, { id: newId(), workspace_id: workspace.id, kind: "smtp", token_hash: smtpTokenHash(accessKey, secretKey), hint: accessKey.slice(-4), created_at: now, stream: streamId }),
    );
    return { accessKey, secretKey, stream: streamId };
  }

  /**
   * SMTP AUTH: the server token as both username and password, or an SMTP token pair. Null when
   * neither matches. Cached like server tokens (the cache key is a hash of both halves). Throws
   * SMTP_DISABLED when the credentials are right but the workspace has SMTP turned off.
   */
  async authenticateSmtp(username: string, password: string): Promise<SmtpIdentity | null> {
    const identity = await this.smtpIdentity(username, password);
    if (identity && !(await this.smtpEnabled(identity.workspace.id))) {
      throw SmtpDisabled(`SMTP is turned off for the server '${identity.workspace.name}'; turn SmtpApiActivated on to submit mail by SMTP.`);
    }
    return identity;
  }

  private async smtpIdentity(username: string, password: string): Promise<SmtpIdentity | null> {
    if (username.length === 0 || password.length === 0) return null;
    if (username === password) {
      const workspace = await this.authenticateServerToken(username);
      return workspace ? { workspace, stream: null } : null;
    }
    const hash = smtpTokenHash(username, password);
    const found = await this.repo.findByTokenHash(this.deps.store.db, "smtp", hash);
    return found?.workspace ? { workspace: found.workspace, stream: found.stream } : null;
  }

  /**
   * Credentials for behavioral data (issue 11): a Track API pair (site id as the Basic username,
   * API key as the password, as customerio-node sends them), a write key for the Segment-spec
   * pipeline API (Basic username, empty password), and an App API key (Bearer). Only hashes are
   * stored; the secrets are shown once.
   */
  async createTrackCredentials(name: string): Promise<TrackCredentials> {
    const workspace = await this.get(name);
    const credentials: TrackCredentials = { siteId: randomHex(10), apiKey: newSecretToken(), writeKey: newSecretToken(), appKey: newSecretToken() };
    const now = this.deps.clock.now();
    await this.deps.store.write(async (trx) => {
      await this.repo.insertToken(trx, { id: newId(), workspace_id: workspace.id, kind: "track", token_hash: trackPairHash(credentials.siteId, credentials.apiKey), hint: credentials.siteId.slice(-4), created_at: now });
      await this.repo.insertToken(trx, tokenRow(workspace.id, "pipeline", credentials.writeKey, now));
      await this.repo.insertToken(trx, tokenRow(workspace.id, "app", credentials.appKey, now));
    });
    return credentials;
  }

  /** Another Customer.io App API key (Bearer) for the workspace; only its hash is stored, the key is shown once. */
  async createAppKey(name: string): Promise<string> {
    const workspace = await this.get(name);
    const appKey = newSecretToken();
    await this.deps.store.write((trx) => this.repo.insertToken(trx, tokenRow(workspace.id, "app", appKey, this.deps.clock.now())));
    return appKey;
  }

  /** The workspace's tokens and keys of every kind, newest first: hints only (the secrets are not kept). */
  tokens(workspaceId: string): Promise<TokenSummary[]> {
    return this.repo.listTokens(this.deps.store.db, workspaceId);
  }

  /**
   * Revokes one of the workspace's tokens or keys: its row is deleted (only its hash was kept, so
   * nothing else refers to it) and this process's verified-token cache is emptied, so the next
   * request with it is refused at once here; another process (an SMTP-only replica) refuses it
   * within AUTH_CACHE_MS. The last server token of a workspace is kept (TOKEN_LAST_SERVER): the
   * server token is the workspace's only way into the Postmark API and SMTP, so rotating one is
   * "make a new one, then revoke the old", and a workspace is never left without one by a click.
   * Track, pipeline, App and SMTP keys have no such floor: a workspace may well use none of them.
   */
  async revokeToken(workspaceId: string, tokenId: string): Promise<TokenSummary> {
    const revoked = await this.deps.store.write(async (trx) => {
      const token = await this.repo.findToken(trx, workspaceId, tokenId);
      if (!token) throw TokenNotFound(`This workspace has no token ${tokenId}.`);
      if (token.kind === "server" && (await this.repo.countTokens(trx, workspaceId, "server", true)) <= 1) {
        throw TokenLastServer("This is the workspace's last server token: make another first, then revoke this one.");
      }
      await this.repo.deleteToken(trx, workspaceId, tokenId);
      return token;
    });
    this.authCache.clear();
    return revoked;
  }

  /** The workspace of a Track API site id + API key pair, or null. Cached like server tokens. */
  authenticateTrack(siteId: string, apiKey: string): Promise<Workspace | null> {
    if (siteId.length === 0 || apiKey.length === 0) return Promise.resolve(null);
    return this.cachedLookup("track", trackPairHash(siteId, apiKey));
  }

  /** The workspace of a Segment-spec write key, or null. */
  authenticateWriteKey(writeKey: string): Promise<Workspace | null> {
    if (writeKey.length === 0) return Promise.resolve(null);
    return this.cachedLookup("pipeline", hashToken(writeKey));
  }

  /** The workspace of a Customer.io App API key, or null. */
  authenticateAppKey(appKey: string): Promise<Workspace | null> {
    if (appKey.length === 0) return Promise.resolve(null);
    return this.cachedLookup("app", hashToken(appKey));
  }

  private async cachedLookup(kind: "track" | "pipeline" | "app", hash: string): Promise<Workspace | null> {
    const key = `${kind}\u0000${hash}`;
    const now = this.deps.clock.now();
    const cached = this.authCache.get(key);
    if (cached && cached.until > now) return cached.workspace;
    const found = await this.repo.findByTokenHash(this.deps.store.db, kind, hash);
    if (!found?.workspace) return null;
    if (this.authCache.size >= AUTH_CACHE_MAX) this.authCache.clear();
    this.authCache.set(key, { workspace: found.workspace, until: now + AUTH_CACHE_MS });
    return found.workspace;
  }

  async findById(id: string): Promise<Workspace | null> {
    return this.repo.findById(this.deps.store.db, id);
  }

  /** A page of workspaces, oldest first, optionally only those whose name contains `name` (any case). */
  page(query: { count: number; offset: number; name?: string }): Promise<{ total: number; workspaces: Workspace[] }> {
    return this.repo.page(this.deps.store.db, query);
  }

  async settings(workspaceId: string): Promise<WorkspaceSettings> {
    return (await this.repo.settings(this.deps.store.db, workspaceId)) ?? { ...DEFAULT_SETTINGS };
  }

  /** Throws what update() would for this change, without writing: for callers that change other things first. */
  async checkUpdate(workspaceId: string, change: WorkspaceChange): Promise<void> {
    checkChange(change);
    if (change.name !== undefined && !NAME_PATTERN.test(change.name)) throw WorkspaceNameInvalid();
    const workspace = await this.repo.findById(this.deps.store.db, workspaceId);
    if (!workspace) throw WorkspaceNotFound();
    if (change.name !== undefined && change.name !== workspace.name && (await this.repo.findByName(this.deps.store.db, change.name))) {
      throw WorkspaceExists(`A workspace named "${change.name}" already exists.`);
    }
  }

  /**
   * Renames a workspace, switches its sandbox and changes its settings, all checked before any is
   * written; undefined leaves a value as it is. Cached identities are dropped, so that an SMTP
   * switch or a sandbox switch holds at once in this process (in others within AUTH_CACHE_MS).
   */
  async update(workspaceId: string, change: WorkspaceChange): Promise<Workspace> {
    checkChange(change);
    if (change.name !== undefined && !NAME_PATTERN.test(change.name)) throw WorkspaceNameInvalid();
    const updated = await this.deps.store.write(async (trx) => {
      const workspace = await this.repo.findById(trx, workspaceId);
      if (!workspace) throw WorkspaceNotFound();
      if (change.name !== undefined && change.name !== workspace.name) {
        const holder = await this.repo.findByName(trx, change.name);
        if (holder) throw WorkspaceExists(`A workspace named "${change.name}" already exists.`);
      }
      const sandbox = change.sandbox === undefined ? {} : { sandbox: change.sandbox ? 1 : 0 };
      const name = change.name === undefined ? {} : { name: change.name };
      await this.repo.update(trx, workspaceId, { ...name, ...sandbox, ...settingsColumns(change) });
      return { ...workspace, ...name, ...(change.sandbox === undefined ? {} : { sandbox: change.sandbox }) };
    });
    this.forget();
    return updated;
  }

  /** Which of these workspaces exist, held until `db`'s transaction ends (repository.liveWorkspaces): for consumers writing their rows. */
  liveWorkspaces(db: Db, ids: readonly string[]): Promise<Set<string>> {
    return this.repo.liveWorkspaces(db, ids, this.deps.store.dialect);
  }

  /** Deletes a workspace with everything stored for it (messages, deliveries, events, tokens, …); returns the tables it emptied of its rows. */
  async delete(workspaceId: string): Promise<string[]> {
    const tables = await this.deps.store.write(async (trx) => {
      if (!(await this.repo.findById(trx, workspaceId))) throw WorkspaceNotFound();
      return this.repo.deleteEverything(trx, workspaceId, this.deps.store.dialect);
    });
    this.forget();
    return tables;
  }

  private forget(): void {
    this.authCache.clear();
    this.streamCache.clear();
    this.smtpCache.clear();
  }

  /** Whether the workspace accepts SMTP submission (Postmark's SmtpApiActivated); cached like tokens. */
  private async smtpEnabled(workspaceId: string): Promise<boolean> {
    const now = this.deps.clock.now();
    const cached = this.smtpCache.get(workspaceId);
    if (cached && cached.until > now) return cached.enabled;
    const enabled = (await this.settings(workspaceId)).smtpEnabled;
    if (this.smtpCache.size >= AUTH_CACHE_MAX) this.smtpCache.clear();
    this.smtpCache.set(workspaceId, { enabled, until: now + AUTH_CACHE_MS });
    return enabled;
  }

  async inboundSettings(workspaceId: string): Promise<InboundSettings> {
    const settings = await this.repo.inboundSettings(this.deps.store.db, workspaceId);
    if (!settings) throw WorkspaceNotFound();
    return settings;
  }

  /** The workspace that receives mail for this inbound hash (<hash>@<shared inbound domain>). */
  findByInboundHash(hash: string): Promise<Workspace | null> {
    return this.repo.findByInboundHash(this.deps.store.db, hash.toLowerCase());
  }

  /** The workspace that receives mail for this custom inbound domain. */
  findByInboundDomain(domain: string): Promise<Workspace | null> {
    return this.repo.findByInboundDomain(this.deps.store.db, domain.toLowerCase());
  }

  /** Sets the inbound domain and hook URL (validated by the caller); undefined leaves a value as it is. */
  async updateInbound(workspaceId: string, changes: { inboundDomain?: string | null; inboundHookUrl?: string | null }): Promise<InboundSettings> {
    const update: { inbound_domain?: string | null; inbound_hook_url?: string | null } = {};
    if (changes.inboundDomain !== undefined) update.inbound_domain = changes.inboundDomain === null ? null : changes.inboundDomain.toLowerCase();
    if (changes.inboundHookUrl !== undefined) update.inbound_hook_url = changes.inboundHookUrl;
    await this.deps.store.write(async (trx) => {
      if (update.inbound_domain) {
        const owner = await this.repo.findByInboundDomain(trx, update.inbound_domain);
        if (owner && owner.id !== workspaceId) throw InboundDomainTaken(`The inbound domain '${update.inbound_domain}' belongs to another workspace.`);
      }
      await this.repo.updateInbound(trx, workspaceId, update);
    });
    return this.inboundSettings(workspaceId);
  }

  /** The workspace a server token belongs to, or null. */
  async authenticateServerToken(token: string): Promise<Workspace | null> {
    const hash = hashToken(token);
    const now = this.deps.clock.now();
    const cached = this.authCache.get(hash);
    if (cached && cached.until > now) return cached.workspace;
    const found = await this.repo.findByTokenHash(this.deps.store.db, "server", hash);
    if (!found?.workspace) return null;
    if (this.authCache.size >= AUTH_CACHE_MAX) this.authCache.clear();
    this.authCache.set(hash, { workspace: found.workspace, until: now + AUTH_CACHE_MS });
    return found.workspace;
  }

  /** Whether an account token (which spans workspaces: domains, servers) is valid. */
  async authenticateAccountToken(token: string): Promise<boolean> {
    const found = await this.repo.findByTokenHash(this.deps.store.db, "account", hashToken(token));
    return found !== null;
  }

  /** Checks that a stream exists, can send and is not archived; cached briefly (STREAM_CACHE_MS) since streams rarely change. */
  async assertSendableStream(workspaceId: string, streamId: string): Promise<void> {
    const key = `${workspaceId}\u0000${streamId}`;
    const now = this.deps.clock.now();
    let entry = this.streamCache.get(key);
    if (!entry || entry.until <= now) {
      const row = await this.repo.findStream(this.deps.store.db, workspaceId, streamId);
      if (!row) throw StreamNotFound(`The message stream '${streamId}' was not found.`);
      entry = { type: row.type, archived: row.archived_at !== null, until: now + STREAM_CACHE_MS };
      if (this.streamCache.size >= AUTH_CACHE_MAX) this.streamCache.clear();
      this.streamCache.set(key, entry);
    }
    if (entry.type === "Inbound") throw StreamNotSendable(`The message stream '${streamId}' is an inbound stream and cannot send.`);
    if (entry.archived) throw StreamArchived(`The message stream '${streamId}' is archived and does not accept messages.`);
  }

  /** Drops the cached verdict on a stream (after it was archived or unarchived). */
  forgetStream(workspaceId: string, streamId: string): void {
    this.streamCache.delete(`${workspaceId}\u0000${streamId}`);
  }
}

function smtpTokenHash(accessKey: string, secretKey: string): string {
  return hashToken(`smtp\u0000${accessKey}\u0000${secretKey}`);
}

function trackPairHash(siteId: string, apiKey: string): string {
  return hashToken(`track\u0000${siteId}\u0000${apiKey}`);
}

function tokenRow(workspaceId: string | null, kind: "server" | "account" | "pipeline" | "app", token: string, now: number) {
  return { id: newId(), workspace_id: workspaceId, kind, token_hash: hashToken(token), hint: token.slice(-4), created_at: now };
}
