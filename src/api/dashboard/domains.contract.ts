// The dashboard's domains calls. Sending domains belong to the account, not to a workspace, so
// they are served under /api/app/domains and only to admins (a viewer is refused, 403): a
// domain's records and verification are the operator's business. Imported by web/ as types.
import { z } from "zod";

export const DomainParams = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

export interface DomainRecordView {
  /** What the record is for: DKIM, DKIM (pending), DKIM Ed25519, SPF, Return-Path, DMARC. */
  purpose: string;
  type: "TXT" | "CNAME";
  host: string;
  value: string;
  /** Whether it was seen in DNS; null for records nothing checks (DMARC is a suggestion). */
  verified: boolean | null;
}

export interface DomainView {
  id: number;
  name: string;
  returnPathDomain: string;
  dkimVerified: boolean;
  spfVerified: boolean;
  returnPathVerified: boolean;
  dkimUpdateStatus: "Pending" | "Verified";
  lastCheckedAt: number | null;
  createdAt: number;
  records: DomainRecordView[];
}

export interface DomainsAnswer {
  domains: DomainView[];
}
