// Trusted networks for SMTP submission, like Postfix's mynetworks: a client whose address falls in
// one of these CIDR blocks may submit without AUTH, as the workspace its block is mapped to (for
// benchmarks and internal relays). The first matching entry wins, so list narrow blocks first.
// Matching uses node:net's BlockList (one per entry, to know which entry matched) rather than our
// own bit arithmetic; IPv4-mapped IPv6 addresses (::ffff:10.0.0.1, what a dual-stack listener
// reports for an IPv4 client) are matched as the IPv4 address they carry.
import net from "node:net";
import type { Workspace } from "../workspaces/workspaces.service.js";

/** A workspace, or a function that looks it up when a trusted client first needs it. */
export type WorkspaceSource = Workspace | (() => Promise<Workspace>);

export interface TrustedNetwork {
  /** "10.0.0.0/8", "2001:db8::/32", or a single address ("127.0.0.1" means /32, "::1" /128). */
  cidr: string;
  workspace: WorkspaceSource;
}

export interface TrustedNetworkSpec {
  cidr: string;
  workspaceName: string;
}

interface CompiledNetwork {
  network: TrustedNetwork;
  list: net.BlockList;
}

export class TrustedNetworks {
  private readonly compiled: CompiledNetwork[];

  /** Throws one Error naming every malformed CIDR. */
  constructor(networks: TrustedNetwork[]) {
    const bad: string[] = [];
    this.compiled = [];
    for (const network of networks) {
      const list = compileCidr(network.cidr);
      if (list) this.compiled.push({ network, list });
      else bad.push(network.cidr);
    }
    if (bad.length > 0) throw new Error(`invalid trusted network CIDR: ${bad.join(", ")}`);
  }

  get size(): number {
    return this.compiled.length;
  }

  /** The first network that contains the address, or null. */
  match(remoteAddress: string): TrustedNetwork | null {
    const address = normalizeAddress(remoteAddress);
    const family = net.isIP(address);
    if (family === 0) return null;
    const type = family === 4 ? "ipv4" : "ipv6";
    for (const { network, list } of this.compiled) {
      if (list.check(address, type)) return network;
    }
    return null;
  }
}

/** "::ffff:10.0.0.1" → "10.0.0.1"; strips an IPv6 zone ("fe80::1%eth0"); other input as is. */
export function normalizeAddress(address: string): string {
  const unzoned = address.replace(/%.*$/, "");
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(unzoned);
  return mapped ? mapped[1]! : unzoned;
}

/** The eight hextets of an IPv6 address, each as four lower-case hex digits. */
export function expandIpv6(address: string): string[] {
  let text = address.toLowerCase();
  // An embedded IPv4 tail (::ffff:0:1.2.3.4, 64:ff9b::1.2.3.4) becomes two hextets.
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + ((a << 8) | b).toString(16) + ":" + ((c << 8) | d).toString(16);
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const headParts = head ? head.split(":") : [];
  const tailParts = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : new Array<string>(8 - headParts.length - tailParts.length).fill("0");
  return [...headParts, ...zeros, ...tailParts].map((h) => h.padStart(4, "0"));
}

function compileCidr(cidr: string): net.BlockList | null {
  const [rawAddress, rawPrefix, extra] = cidr.trim().split("/");
  if (rawAddress === undefined || extra !== undefined) return null;
  const address = normalizeAddress(rawAddress);
  const family = net.isIP(address);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (rawPrefix !== undefined) {
    if (!/^\d{1,3}$/.test(rawPrefix)) return null;
    prefix = Number(rawPrefix);
    if (prefix > max) return null;
  }
  const list = new net.BlockList();
  list.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
  return list;
}

/**
 * Parses POSTHORN_SMTP_TRUSTED_NETWORKS: entries `CIDR=workspace-name` separated by commas or
 * whitespace, e.g. "127.0.0.1/32=bench, 10.0.0.0/8=internal, ::1=bench". Throws one Error that
 * lists every malformed entry. Workspace names are resolved by the caller (the composition root).
 */
export function parseTrustedNetworksSpec(spec: string): TrustedNetworkSpec[] {
  const entries = spec.split(/[\s,]+/).filter((e) => e.length > 0);
  const bad: string[] = [];
  const parsed: TrustedNetworkSpec[] = [];
  for (const entry of entries) {
    const eq = entry.lastIndexOf("=");
    const cidr = eq > 0 ? entry.slice(0, eq) : "";
    const workspaceName = eq > 0 ? entry.slice(eq + 1) : "";
    if (!cidr || !workspaceName || compileCidr(cidr) === null) bad.push(entry);
    else parsed.push({ cidr, workspaceName });
  }
  if (bad.length > 0) throw new Error(`invalid POSTHORN_SMTP_TRUSTED_NETWORKS entries (expected CIDR=workspace): ${bad.join(", ")}`);
  return parsed;
}
