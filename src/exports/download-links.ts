// Download links of exports: what GET /v1/exports/{id}/download answers, a URL that opens the file
// without the App API key (as Customer.io's S3 links do) for 15 minutes (Customer.io's figure).
// The token is base64url of the JSON [workspace id, export id, expiry in unix seconds], a dot, and
// a MAC: HMAC-SHA256 over the token's first part, cut to 128 bits. The key is derived from the
// installation's encryption key with its own label (as tracking and VERP keys are), so no other
// signed thing can stand for a download link. The workspace is inside what is signed, so a link
// opens its own workspace's export only: it is looked up by both, and another's is as missing.
import { createHmac, timingSafeEqual } from "node:crypto";

/** Customer.io: "The link expires after 15 minutes." */
export const LINK_LIFETIME_MS = 15 * 60_000;
const MAC_BYTES = 16;
/** Longer tokens are refused before decoding (a workspace id and two numbers are far shorter). */
export const MAX_TOKEN_CHARS = 400;

export interface LinkClaim {
  workspaceId: string;
  exportId: number;
  /** Unix seconds. */
  expiresAt: number;
}

export function downloadLinkKey(encryptionKey: Buffer): Buffer {
  return createHmac("sha256", encryptionKey).update("posthorn export download link key").digest();
}

export class DownloadLinks {
  constructor(private readonly key: Buffer) {}

  sign(claim: LinkClaim): string {
    const body = Buffer.from(JSON.stringify([claim.workspaceId, claim.exportId, claim.expiresAt])).toString("base64url");
    return `${body}.${this.mac(body).toString("base64url")}`;
  }

  /** The claim, or null for anything this installation did not sign exactly so; expiry is the caller's to judge. */
  verify(token: string): LinkClaim | null {
    if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return null;
    const [body, mac] = token.split(".") as [string, string];
    const given = Buffer.from(mac, "base64url");
    // A MAC must re-encode to itself, so no two spellings of one link exist.
    if (given.length !== MAC_BYTES || given.toString("base64url") !== mac) return null;
    if (!timingSafeEqual(given, this.mac(body))) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      return null;
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) return null;
    const [workspaceId, exportId, expiresAt] = parsed as unknown[];
    if (typeof workspaceId !== "string" || !Number.isSafeInteger(exportId) || !Number.isSafeInteger(expiresAt)) return null;
    return { workspaceId, exportId: exportId as number, expiresAt: expiresAt as number };
  }

  private mac(body: string): Buffer {
    return createHmac("sha256", this.key).update(body).digest().subarray(0, MAC_BYTES);
  }
}
