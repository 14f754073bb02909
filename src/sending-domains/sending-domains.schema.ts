// Row types of the sending-domain tables (migration 002), added to the store's Database type by
// declaration merging so that store/schema.ts stays owned by the store. Timestamps are integer
// milliseconds; null means "not (yet)".
import type { Generated, Selectable } from "kysely";

export interface SendingDomainsTable {
  /** Postmark's domain IDs are numbers, so this is an auto-increment key. */
  id: Generated<number>;
  /** Lower-case A-label form (IDNs are stored as punycode). */
  name: string;
  /** The MAIL FROM domain; a CNAME to the server's host name. */
  return_path_domain: string;
  spf_verified_at: number | null;
  return_path_verified_at: number | null;
  /** When the periodic recheck (or a full verify) last looked at the DNS. */
  last_checked_at: number | null;
  created_at: number;
  updated_at: number;
}

/**
 * pending: generated, waiting to be seen in DNS, never used to sign. active: signs mail (at most
 * one per domain). revoked: replaced by a newer key; kept so its record can be shown for removal.
 */
export type DkimKeyState = "pending" | "active" | "revoked";

export interface DkimKeysTable {
  id: Generated<number>;
  domain_id: number;
  state: DkimKeyState;
  /** Selector of the RSA-2048 key, the one Postmark's DKIMHost fields show. */
  selector: string;
  /** Base64 SubjectPublicKeyInfo, the p= value of the TXT record. */
  rsa_public_key: string;
  /** PKCS#8 PEM sealed with AES-256-GCM (secret-box.ts); never stored in clear. */
  rsa_private_key: string;
  /** Selector of the Ed25519 key (RFC 8463), signed with only when enabled and seen in DNS. */
  ed25519_selector: string;
  /** Base64 of the raw 32-byte public key (RFC 8463 §4). */
  ed25519_public_key: string;
  ed25519_private_key: string;
  rsa_verified_at: number | null;
  ed25519_verified_at: number | null;
  created_at: number;
  activated_at: number | null;
  revoked_at: number | null;
}

export type SendingDomainRow = Selectable<SendingDomainsTable>;
export type DkimKeyRow = Selectable<DkimKeysTable>;

declare module "../store/schema.js" {
  interface Database {
    sending_domains: SendingDomainsTable;
    dkim_keys: DkimKeysTable;
  }
}
