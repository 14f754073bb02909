// The DNS records a sending domain publishes, and how answers are judged against them. Pure
// functions: domain-dns.ts does the lookups, the service decides what to store.

export interface DnsRecord {
  type: "TXT" | "CNAME";
  host: string;
  value: string;
}

export interface SpfSettings {
  /** The server's host name: the return-path CNAME target, and the SPF `a:` host when no include is set. */
  hostname: string;
  /** A host whose SPF record lists the sending IPs, used as `include:<host>`; null uses `a:<hostname>`. */
  spfInclude: string | null;
}

/**
 * The one SPF mechanism a domain adds to authorise Posthorn. Posthorn has no fixed IPs, so by
 * default it names the server's own host name (`a:` = its A/AAAA addresses, RFC 7208 §5.3); a
 * deployment that sends from several hosts or NATed addresses sets an include host instead and
 * lists its addresses there (§5.2).
 */
export function spfMechanism(settings: SpfSettings): string {
  return settings.spfInclude ? `include:${settings.spfInclude}` : `a:${settings.hostname}`;
}

/** A whole record to publish when the domain has none; with one already, add the mechanism to it (RFC 7208 §4.5 allows one record). */
export function spfRecord(domain: string, settings: SpfSettings): DnsRecord {
  return { type: "TXT", host: domain, value: `v=spf1 ${spfMechanism(settings)} ~all` };
}

/**
 * A starting DMARC policy (RFC 7489 §6.3): p=none only asks for aggregate reports, so publishing
 * it cannot cause mail to be rejected. The report address is a suggestion at the domain itself;
 * Posthorn does not read DMARC reports.
 */
export function dmarcRecord(domain: string): DnsRecord {
  return { type: "TXT", host: `_dmarc.${domain}`, value: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}` };
}

export function returnPathRecord(returnPathDomain: string, hostname: string): DnsRecord {
  return { type: "CNAME", host: returnPathDomain, value: hostname };
}

/** RFC 6376 §3.2 tag=value list; names are case-sensitive, whitespace around values is ignored. */
export function parseTagList(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !tags.has(name)) tags.set(name, part.slice(eq + 1).trim());
  }
  return tags;
}

/**
 * Whether one of the TXT records publishes this public key: v= absent or DKIM1, k= the
 * algorithm (rsa when absent, §3.6.1), and p= equal once folding whitespace is removed (DNS
 * panels often insert spaces where they split long strings).
 */
export function publishesDkimKey(txtRecords: readonly string[], algorithm: "rsa" | "ed25519", publicKey: string): boolean {
  return txtRecords.some((record) => {
    const tags = parseTagList(record);
    const version = tags.get("v");
    if (version !== undefined && version !== "DKIM1") return false;
    if ((tags.get("k") ?? "rsa").toLowerCase() !== algorithm) return false;
    return (tags.get("p") ?? "").replace(/\s+/g, "") === publicKey;
  });
}

/**
 * Whether the domain's SPF policy contains our mechanism with a passing qualifier. Exactly one
 * v=spf1 record must exist: with two, receivers return permerror (RFC 7208 §4.5), so it is not
 * verified. `+` or no qualifier passes; `~`, `?` and `-` would not authorise us.
 */
export function spfIncludesMechanism(txtRecords: readonly string[], mechanism: string): boolean {
  const policies = txtRecords.filter((r) => /^v=spf1(\s|$)/i.test(r.trim()));
  if (policies.length !== 1) return false;
  const wanted = normaliseTerm(mechanism);
  return policies[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .some((term) => normaliseTerm(term.startsWith("+") ? term.slice(1) : term) === wanted);
}

function normaliseTerm(term: string): string {
  return term.toLowerCase().replace(/\.$/, "");
}

/** Host names compare case-insensitively and without the root dot. */
export function sameHost(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, "") === b.toLowerCase().replace(/\.$/, "");
}
