// Where webhooks may be posted. A hook URL is chosen by a workspace's user, and Posthorn posts from
// inside the operator's network, so without a check any user could make Posthorn reach loopback
// services, the cloud metadata endpoint (169.254.169.254) or private hosts, and learn from the
// message's status whether they answered (server-side request forgery). So by default only public
// unicast addresses are reached; POSTHORN_WEBHOOK_ALLOWED_NETWORKS lets an operator allow the
// internal networks its hooks live on.
//
// The check is made on the address actually connected to, not on the URL: the host name is
// resolved by our own lookup, which refuses non-public answers (so a name that resolves, or later
// re-resolves, to 127.0.0.1 is refused), and a literal IP is checked before connecting. URL parsing
// (WHATWG) has already turned decimal, octal and hex forms (http://2130706433/, http://0x7f.1/)
// into dotted quads. IPv4-mapped (::ffff:127.0.0.1) and NAT64 (64:ff9b::/96) IPv6 addresses are
// judged by the IPv4 address they carry. Redirects are never followed (webhook-post.ts).
import { BlockList, isIP } from "node:net";
import dns, { type LookupAddress } from "node:dns";
import { parseNetwork } from "../shared/ip-network.js";

export { parseNetwork } from "../shared/ip-network.js";

/** Address ranges that are not public unicast (RFC 6890 special-purpose registries), as data. */
const NON_PUBLIC_IPV4: ReadonlyArray<readonly [network: string, prefix: number, what: string]> = [
  ["0.0.0.0", 8, "this network (0.0.0.0 reaches the local host)"],
  ["10.0.0.0", 8, "private (RFC 1918)"],
  ["100.64.0.0", 10, "shared address space (carrier-grade NAT)"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local, cloud metadata endpoints"],
  ["172.16.0.0", 12, "private (RFC 1918)"],
  ["192.0.0.0", 24, "IETF protocol assignments"],
  ["192.0.2.0", 24, "documentation (TEST-NET-1)"],
  ["192.88.99.0", 24, "6to4 relay anycast"],
  ["192.168.0.0", 16, "private (RFC 1918)"],
  ["198.18.0.0", 15, "benchmarking"],
  ["198.51.100.0", 24, "documentation (TEST-NET-2)"],
  ["203.0.113.0", 24, "documentation (TEST-NET-3)"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved, and 255.255.255.255 broadcast"],
];
const NON_PUBLIC_IPV6: ReadonlyArray<readonly [network: string, prefix: number, what: string]> = [
  ["::", 96, "unspecified, loopback (::1) and IPv4-compatible addresses"],
  ["100::", 64, "discard-only"],
  ["2001::", 32, "Teredo (tunnels to an IPv4 address)"],
  ["2001:db8::", 32, "documentation"],
  ["2002::", 16, "6to4 (tunnels to an IPv4 address)"],
  ["fc00::", 7, "unique local (private)"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local (deprecated)"],
  ["ff00::", 8, "multicast"],
];

const nonPublic = new BlockList();
for (const [network, prefix] of NON_PUBLIC_IPV4) nonPublic.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of NON_PUBLIC_IPV6) nonPublic.addSubnet(network, prefix, "ipv6");

/** The error of a refused destination; its message is the same whatever the address, and says nothing of what answers there. */
export const DESTINATION_REFUSED = "POSTHORN_WEBHOOK_DESTINATION_REFUSED";
export const REFUSED_MESSAGE = "the webhook's destination is not a public address, and not in POSTHORN_WEBHOOK_ALLOWED_NETWORKS";

export interface DestinationPolicy {
  /** Whether a post may connect to this IP address. */
  allows(address: string): boolean;
  /** A lookup for http.request that resolves a host name and keeps only the addresses allowed; none left is an error. */
  readonly lookup: typeof dns.lookup;
}

/** The policy for posts: public addresses, plus the networks an operator allowed ("10.1.0.0/16", "::1/128"). */
export function destinationPolicy(allowedNetworks: readonly string[] = []): DestinationPolicy {
  const allowed = new BlockList();
  for (const text of allowedNetworks) {
    const { network, prefix, family } = parseNetwork(text);
    allowed.addSubnet(network, prefix, family);
  }
  const allows = (address: string): boolean => {
    const forms = addressForms(address);
    if (forms.length === 0) return false;
    if (forms.some(([a, family]) => allowed.check(a, family))) return true;
    return forms.every(([a, family]) => !nonPublic.check(a, family));
  };
  const lookup = ((hostname: string, options: unknown, callback: unknown) => {
    const done = (typeof options === "function" ? options : callback) as (err: NodeJS.ErrnoException | null, address?: string | LookupAddress[], family?: number) => void;
    const asked = typeof options === "object" && options !== null ? (options as dns.LookupOptions) : typeof options === "number" ? { family: options } : {};
    dns.lookup(hostname, { ...asked, all: true }, (err, addresses) => {
      if (err) return done(err);
      const usable = addresses.filter((a) => allows(a.address));
      if (usable.length === 0) return done(refusedError());
      if (asked.all) return done(null, usable);
      return done(null, usable[0]!.address, usable[0]!.family);
    });
  }) as typeof dns.lookup;
  return { allows, lookup };
}

export function refusedError(): NodeJS.ErrnoException {
  return Object.assign(new Error(REFUSED_MESSAGE), { code: DESTINATION_REFUSED });
}

/**
 * The forms an address is judged by: itself, and for an IPv6 address that carries an IPv4 one
 * (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96), that IPv4 address too. Empty when not an IP.
 */
function addressForms(address: string): Array<[string, "ipv4" | "ipv6"]> {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const version = isIP(bare);
  if (version === 4) return [[bare, "ipv4"]];
  if (version !== 6) return [];
  const bytes = ipv6Bytes(bare);
  if (!bytes) return [];
  const forms: Array<[string, "ipv4" | "ipv6"]> = [[bare, "ipv6"]];
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  const nat64 = bytes.readUInt32BE(0) === 0x0064ff9b && bytes.subarray(4, 12).every((b) => b === 0);
  if (mapped || nat64) forms.push([[...bytes.subarray(12)].join("."), "ipv4"]);
  return forms;
}

/** The 16 bytes of a textual IPv6 address (with "::" and a trailing dotted quad allowed), or null. */
function ipv6Bytes(text: string): Buffer | null {
  let source = text.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(source);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    source = `${source.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = source.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const bytes = Buffer.alloc(16);
  for (const [i, group] of groups.entries()) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return null;
    bytes.writeUInt16BE(parseInt(group, 16), i * 2);
  }
  return bytes;
}
