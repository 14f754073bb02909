// Sending domains of the account: creation with fresh DKIM keys, DNS verification, key rotation,
// and the keys the MTA signs with. See README.md in this folder for the guarantees.
import type { Store } from "../store/store.js";
import { isUniqueViolation } from "../store/sql-errors.js";
import type { Clock } from "../shared/clock.js";
import type { CallContext, Logger } from "../shared/logger.js";
import type { DkimKeyRow, SendingDomainRow } from "./sending-domains.schema.js";
import type { SecretBox } from "./secret-box.js";
import type { DomainDns } from "./domain-dns.js";
import { SendingDomainsRepository } from "./sending-domains.repository.js";
import { DkimRotationPending, DomainExists, DomainNotFound } from "./sending-domains.errors.js";
import { canonicalHostName, parseDomainName, parseReturnPathDomain } from "./domain-names.js";
import { dkimHost, dkimTxtValue, generateDkimKeySet, nextSelector, type DkimKeySet } from "./dkim-keys.js";
import { dmarcRecord, returnPathRecord, spfRecord, type DnsRecord, type SpfSettings } from "./dns-records.js";
import { DomainChecker, type Checks } from "./domain-checks.js";

export interface SendingDomainsSettings extends SpfSettings {
  /** Sign with the Ed25519 key too (RFC 8463), once its record is seen in DNS. */
  ed25519: boolean;
  /** How long after a rotation the old key's record should stay published. Default 7 days. */
  revokedKeyGraceMs?: number;
}

export interface SendingDomainsDeps {
  store: Store;
  clock: Clock;
  dns: DomainDns;
  secrets: SecretBox;
  logger: Logger;
  settings: SendingDomainsSettings;
}

/**
 * Receivers verify a signature when the message arrives, but forwarded and list mail can arrive
 * days later; Postmark likewise suggests waiting "a few days" before deleting an old key.
 */
const DEFAULT_REVOKED_KEY_GRACE_MS = 7 * 24 * 60 * 60 * 1000;

export interface DkimKeyView {
  selector: string;
  /** The RSA key's TXT record. */
  record: DnsRecord;
  /** The Ed25519 key's TXT record; shown to users only when Ed25519 signing is enabled. */
  ed25519Record: DnsRecord;
  rsaVerifiedAt: number | null;
  ed25519VerifiedAt: number | null;
  createdAt: number;
  activatedAt: number | null;
  revokedAt: number | null;
}

export interface SendingDomain {
  id: number;
  name: string;
  returnPathDomain: string;
  /** Postmark's meaning: DKIM was verified once (the domain has an active key); it stays true. */
  dkimVerified: boolean;
  spfVerifiedAt: number | null;
  returnPathVerifiedAt: number | null;
  lastCheckedAt: number | null;
  createdAt: number;
  activeKey: DkimKeyView | null;
  pendingKey: DkimKeyView | null;
  revokedKey: DkimKeyView | null;
  safeToRemoveRevokedKey: boolean;
  /** "Pending" while a key waits to be seen in DNS, else "Verified" (Postmark's DKIMUpdateStatus). */
  dkimUpdateStatus: "Pending" | "Verified";
  ed25519Enabled: boolean;
  records: { spf: DnsRecord; dmarc: DnsRecord; returnPath: DnsRecord };
}

export interface SigningKeys {
  domain: string;
  rsa: { selector: string; privateKeyPem: string };
  /** Present when Ed25519 signing is enabled and the active key's Ed25519 record was seen in DNS. */
  ed25519: { selector: string; privateKeyPem: string } | null;
}


export class SendingDomainsService {
  private readonly repo = new SendingDomainsRepository();
  private readonly listeners: Array<(name: string) => void> = [];
  private readonly graceMs: number;
  private readonly checker: DomainChecker;

  constructor(private readonly deps: SendingDomainsDeps) {
    this.graceMs = deps.settings.revokedKeyGraceMs ?? DEFAULT_REVOKED_KEY_GRACE_MS;
    this.checker = new DomainChecker(deps);
  }

  /** Called with a domain's name whenever its keys or state change in this process (the signer drops its cache entry). */
  onDomainChanged(listener: (name: string) => void): void {
    this.listeners.push(listener);
  }

  /** `call`: the HTTP request that asked (its id goes on the log line), absent for work of our own. */
  async create(input: { name: unknown; returnPathDomain?: unknown }, call: CallContext = {}): Promise<SendingDomain> {
    const name = parseDomainName(input.name);
    const returnPathDomain = parseReturnPathDomain(input.returnPathDomain, name);
    const exists = () => DomainExists(`A domain named ${name} already exists (see GET /domains).`);
    // Checked before generating keys too, so a duplicate costs no RSA generation.
    if (await this.repo.findByName(this.deps.store.db, name)) throw exists();
    const now = this.deps.clock.now();
    const keys = await generateDkimKeySet(nextSelector(now, []));
    const id = await this.deps.store
      .write(async (trx) => {
        if (await this.repo.findByName(trx, name)) throw exists();
        const id = await this.repo.insertDomain(trx, {
          name,
          return_path_domain: returnPathDomain,
          spf_verified_at: null,
          return_path_verified_at: null,
          last_checked_at: null,
          created_at: now,
          updated_at: now,
        });
        await this.repo.insertKey(trx, this.keyRow(id, name, keys, now));
        return id;
      })
      .catch((err: unknown) => {
        throw isUniqueViolation(err) ? exists() : err;
      });
    this.deps.logger.info({ event: "sending-domain.created", ...call, domain: name, id, selector: keys.selector }, "sending domain created");
    this.changed(name);
    return this.get(id);
  }

  async get(id: number): Promise<SendingDomain> {
    const row = await this.find(id);
    return this.toView(row, await this.repo.keysOf(this.deps.store.db, [id]));
  }

  async list(page: { count: number; offset: number }): Promise<{ total: number; domains: SendingDomain[] }> {
    const db = this.deps.store.db;
    const [total, rows] = await Promise.all([this.repo.count(db), this.repo.list(db, page)]);
    const keys = await this.repo.keysOf(db, rows.map((r) => r.id));
    return { total, domains: rows.map((row) => this.toView(row, keys.filter((k) => k.domain_id === row.id))) };
  }

  /** The domain of this name (lower-case A-label), or null. */
  async findByName(name: string): Promise<SendingDomain | null> {
    const row = await this.repo.findByName(this.deps.store.db, name);
    return row ? this.toView(row, await this.repo.keysOf(this.deps.store.db, [row.id])) : null;
  }

  /**
   * Of these domain names (lower-case A-labels), the DKIM-verified ones: those with an active key.
   * The From rule of acceptance asks this (src/senders/from-authority.ts).
   */
  async dkimVerifiedNames(names: string[]): Promise<Set<string>> {
    return new Set(await this.repo.withActiveKey(this.deps.store.db, names));
  }

  /** Sets the return-path domain (null or "" restores the default); a change must be verified again. */
  async updateReturnPath(id: number, input: unknown): Promise<SendingDomain> {
    const row = await this.find(id);
    const returnPathDomain = parseReturnPathDomain(input, row.name);
    if (returnPathDomain !== row.return_path_domain) {
      const now = this.deps.clock.now();
      await this.deps.store.write((trx) =>
        this.repo.updateDomain(trx, id, { return_path_domain: returnPathDomain, return_path_verified_at: null, updated_at: now }),
      );
      this.changed(row.name);
    }
    return this.get(id);
  }

  /** Deletes the domain and its keys; mail from it is no longer signed. Returns its name. */
  async delete(id: number, call: CallContext = {}): Promise<string> {
    const row = await this.find(id);
    await this.deps.store.write((trx) => this.repo.deleteDomain(trx, id));
    this.deps.logger.info({ event: "sending-domain.deleted", ...call, domain: row.name, id }, "sending domain deleted");
    this.changed(row.name);
    return row.name;
  }

  verifyDkim(id: number): Promise<SendingDomain> {
    return this.verify(id, { dkim: true }, false);
  }

  verifySpf(id: number): Promise<SendingDomain> {
    return this.verify(id, { spf: true }, false);
  }

  verifyReturnPath(id: number): Promise<SendingDomain> {
    return this.verify(id, { returnPath: true }, false);
  }

  /** Every check at once, as the periodic recheck does. */
  verifyAll(id: number): Promise<SendingDomain> {
    return this.verify(id, { dkim: true, spf: true, returnPath: true }, true);
  }

  /**
   * Starts a key rotation: a new pending key under a new selector. The active key keeps signing
   * until the new key's record is seen in DNS (verifyDkim or the recheck); then the new key
   * signs and the old one is revoked, its record safe to remove after the grace period.
   */
  async rotateDkim(id: number, call: CallContext = {}): Promise<SendingDomain> {
    const row = await this.find(id);
    const keys = await this.repo.keysOf(this.deps.store.db, [id]);
    const pendingError = () => {
      const pending = keys.find((k) => k.state === "pending");
      const host = pending ? ` (${dkimHost(pending.selector, row.name)})` : "";
      return DkimRotationPending(`A new DKIM key for ${row.name} is already waiting to be verified${host}; publish it and verify it first.`);
    };
    if (keys.some((k) => k.state === "pending")) throw pendingError();
    const now = this.deps.clock.now();
    const set = await generateDkimKeySet(nextSelector(now, keys.map((k) => k.selector)));
    await this.deps.store
      .write((trx) => this.repo.insertKey(trx, this.keyRow(id, row.name, set, now)))
      .catch((err: unknown) => {
        // The partial unique index: another rotation of this domain committed first.
        throw isUniqueViolation(err) ? pendingError() : err;
      });
    this.deps.logger.info({ event: "sending-domain.dkim.rotation-started", ...call, domain: row.name, selector: set.selector }, "DKIM rotation started");
    this.changed(row.name);
    return this.get(id);
  }

  /** Checks domains not checked within `intervalMs`, at most `limit` of them; returns how many. */
  async recheckDue(options: { intervalMs: number; limit?: number }): Promise<number> {
    const ids = await this.repo.dueForRecheck(this.deps.store.db, this.deps.clock.now() - options.intervalMs, options.limit ?? 100);
    for (const id of ids) {
      try {
        await this.verifyAll(id);
      } catch (err) {
        if ((err as { code?: string }).code === DomainNotFound.code) continue; // deleted meanwhile
        this.deps.logger.warn({ event: "sending-domain.recheck.failed", err, id }, "sending domain recheck failed");
      }
    }
    return ids.length;
  }

  /** The private keys that sign for a domain name (exact match), or null when it has no active key. */
  async signingKeys(domainName: string): Promise<SigningKeys | null> {
    const name = canonicalHostName(domainName);
    if (!name) return null;
    const key = await this.repo.activeKeyByName(this.deps.store.db, name);
    if (!key) return null;
    const open = (sealed: string, selector: string) => this.deps.secrets.open(sealed, dkimHost(selector, name)).toString("utf8");
    return {
      domain: name,
      rsa: { selector: key.selector, privateKeyPem: open(key.rsa_private_key, key.selector) },
      ed25519:
        this.deps.settings.ed25519 && key.ed25519_verified_at !== null
          ? { selector: key.ed25519_selector, privateKeyPem: open(key.ed25519_private_key, key.ed25519_selector) }
          : null,
    };
  }

  /**
   * Why mail from this domain is not signed, asked once signingKeys found no key: it is not a
   * sending domain (signing is exact-domain), or it is one whose DKIM record was not seen yet.
   */
  async unsignedReason(domainName: string): Promise<"not-sending-domain" | "unverified"> {
    const name = canonicalHostName(domainName);
    const row = name ? await this.repo.findByName(this.deps.store.db, name) : null;
    return row ? "unverified" : "not-sending-domain";
  }

  /**
   * The return-path domain to use in MAIL FROM for mail from this domain (exact match), or null
   * when the domain is unknown or its CNAME is not verified: bounces to an unpublished name
   * would be lost, so the caller should fall back to its default.
   */
  async verifiedReturnPath(fromDomain: string): Promise<string | null> {
    const name = canonicalHostName(fromDomain);
    const row = name ? await this.repo.findByName(this.deps.store.db, name) : null;
    return row && row.return_path_verified_at !== null ? row.return_path_domain : null;
  }

  /** Whether bounces may come back to this domain: some sending domain uses it as its return path (verified). */
  async isReturnPathDomain(domain: string): Promise<boolean> {
    const name = canonicalHostName(domain);
    return name ? this.repo.hasVerifiedReturnPath(this.deps.store.db, name) : false;
  }

  /**
   * Whether mail for this domain is ours to handle as a sender: a sending domain or a return-path
   * domain (verified or not). A workspace may not claim one as its inbound domain.
   */
  async isSendingOrReturnPath(domain: string): Promise<boolean> {
    const name = canonicalHostName(domain);
    return name ? this.repo.isSendingOrReturnPath(this.deps.store.db, name) : false;
  }

  private async find(id: number): Promise<SendingDomainRow> {
    const row = Number.isSafeInteger(id) && id > 0 ? await this.repo.findById(this.deps.store.db, id) : null;
    if (!row) throw DomainNotFound(`No domain has ID ${id}.`);
    return row;
  }

  /**
   * Looks the records up (outside any transaction: DNS can take seconds; domain-checks.ts), then
   * writes what changed in one transaction. Activation re-checks inside it that the key is still
   * pending, so a verify racing another process's verify activates the key once; a return-path
   * result is dropped if the return-path domain was changed while its CNAME was being looked up.
   */
  private async verify(id: number, checks: Checks, markChecked: boolean): Promise<SendingDomain> {
    const row = await this.find(id);
    const keys = await this.repo.keysOf(this.deps.store.db, [id]);
    const now = this.deps.clock.now();
    const { spf, returnPath, dkim } = await this.checker.check(row, keys, checks, now);
    await this.deps.store.write(async (trx) => {
      const current = await this.repo.findById(trx, id);
      const returnPathStill = current?.return_path_domain === row.return_path_domain;
      for (const { keyId, changes } of dkim.keyChanges) await this.repo.updateKey(trx, keyId, changes);
      if (dkim.activate !== null && (await this.repo.activatePending(trx, id, dkim.activate, now))) {
        this.deps.logger.info({ event: "sending-domain.dkim.activated", domain: row.name, keyId: dkim.activate }, "DKIM key verified in DNS and activated");
      }
      await this.repo.updateDomain(trx, id, {
        ...(spf !== undefined ? { spf_verified_at: spf } : {}),
        ...(returnPath !== undefined && returnPathStill ? { return_path_verified_at: returnPath } : {}),
        ...(markChecked ? { last_checked_at: now } : {}),
        updated_at: now,
      });
    });
    this.changed(row.name);
    return this.get(id);
  }

  private keyRow(domainId: number, name: string, set: DkimKeySet, now: number) {
    const seal = (pem: string, selector: string) => this.deps.secrets.seal(pem, dkimHost(selector, name));
    return {
      domain_id: domainId,
      state: "pending" as const,
      selector: set.selector,
      rsa_public_key: set.rsa.publicKey,
      rsa_private_key: seal(set.rsa.privateKeyPem, set.selector),
      ed25519_selector: set.ed25519Selector,
      ed25519_public_key: set.ed25519.publicKey,
      ed25519_private_key: seal(set.ed25519.privateKeyPem, set.ed25519Selector),
      rsa_verified_at: null,
      ed25519_verified_at: null,
      created_at: now,
      activated_at: null,
      revoked_at: null,
    };
  }

  private toView(row: SendingDomainRow, keys: DkimKeyRow[]): SendingDomain {
    const view = (state: DkimKeyRow["state"]): DkimKeyView | null => {
      const key = keys.find((k) => k.state === state);
      if (!key) return null;
      return {
        selector: key.selector,
        record: { type: "TXT", host: dkimHost(key.selector, row.name), value: dkimTxtValue("rsa", key.rsa_public_key) },
        ed25519Record: { type: "TXT", host: dkimHost(key.ed25519_selector, row.name), value: dkimTxtValue("ed25519", key.ed25519_public_key) },
        rsaVerifiedAt: key.rsa_verified_at,
        ed25519VerifiedAt: key.ed25519_verified_at,
        createdAt: key.created_at,
        activatedAt: key.activated_at,
        revokedAt: key.revoked_at,
      };
    };
    const [activeKey, pendingKey, revokedKey] = [view("active"), view("pending"), view("revoked")];
    const { settings } = this.deps;
    return {
      id: row.id,
      name: row.name,
      returnPathDomain: row.return_path_domain,
      dkimVerified: activeKey !== null,
      spfVerifiedAt: row.spf_verified_at,
      returnPathVerifiedAt: row.return_path_verified_at,
      lastCheckedAt: row.last_checked_at,
      createdAt: row.created_at,
      activeKey,
      pendingKey,
      revokedKey,
      safeToRemoveRevokedKey: revokedKey?.revokedAt != null && this.deps.clock.now() >= revokedKey.revokedAt + this.graceMs,
      dkimUpdateStatus: pendingKey ? "Pending" : "Verified",
      ed25519Enabled: settings.ed25519,
      records: {
        spf: spfRecord(row.name, settings),
        dmarc: dmarcRecord(row.name),
        returnPath: returnPathRecord(row.return_path_domain, settings.hostname),
      },
    };
  }

  private changed(name: string): void {
    for (const listener of this.listeners) listener(name);
  }
}
