// IP networks as operators write them in configuration: "10.1.0.0/16", "::1/128", or a bare
// address for one host. Shared because the config fragments that read them may import no domain.
import { isIP } from "node:net";

/** A network as "address/prefix" or a bare address; throws on anything else. */
export function parseNetwork(text: string): { network: string; prefix: number; family: "ipv4" | "ipv6" } {
  const [address = "", prefixText, extra] = text.trim().split("/");
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (version === 0 || extra !== undefined || !(prefix >= 0 && prefix <= max)) throw new Error(`'${text}' is not an IP network (address/prefix)`);
  return { network: address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}
